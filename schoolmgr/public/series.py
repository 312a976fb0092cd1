"""The series page: every public edition of a recurring school, one page at a time."""

import re
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination

from schoolmgr.extensions import db
from schoolmgr.models import Edition, EditionStatus
from schoolmgr.pagination import paginate
from schoolmgr.public.services import EditionCard, accepted_counts, seats_left

SERIES_PER_PAGE = 20


@dataclass(frozen=True)
class SeriesPage:
    name: str  # the school's name: its newest edition's title without the year
    first_year: int
    pager: Pagination
    cards: list[EditionCard]


def _visible(series: str) -> tuple:
    return (Edition.series == series, Edition.status != EditionStatus.DRAFT)


def series_page(series: str, now) -> SeriesPage | None:
    """One page of the series' non-draft editions, newest first, with the school's name and
    first year; None when the series has no public edition. Five queries at most, whatever
    the number of editions."""
    pager = paginate(
        sa.select(Edition)
        .where(*_visible(series))
        .order_by(Edition.start_date.desc(), Edition.id.desc()),
        per_page=SERIES_PER_PAGE,
    )
    if not pager.total:
        return None
    if pager.page == 1:
        newest_title = pager.items[0].title
    else:
        newest_title = db.session.scalar(
            sa.select(Edition.title)
            .where(*_visible(series))
            .order_by(Edition.start_date.desc(), Edition.id.desc())
            .limit(1)
        )
    first: date = db.session.scalar(
        sa.select(sa.func.min(Edition.start_date)).where(*_visible(series))
    )
    counts = accepted_counts([e.id for e in pager.items])
    cards = [
        EditionCard(e, seats_left(e, counts.get(e.id, 0)), e.registration_is_open(now))
        for e in pager.items
    ]
    name = re.sub(r"\s*\b(19|20)\d{2}\b\s*$", "", newest_title) or newest_title
    return SeriesPage(name=name, first_year=first.year, pager=pager, cards=cards)
