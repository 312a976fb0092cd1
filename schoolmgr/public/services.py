"""Read-side rules of the public catalogue: what visitors see and in which order."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import selectinload

from schoolmgr.extensions import db
from schoolmgr.models import (
    Edition,
    EditionModule,
    EditionStatus,
    Module,
    Registration,
    RegistrationStatus,
    Session,
    User,
)
from schoolmgr.pagination import paginate_counted


def accepted_counts(edition_ids: list[int]) -> dict[int, int]:
    """Accepted registrations per edition, in one query."""
    if not edition_ids:
        return {}
    return dict(db.session.execute(_accepted_counts_query(), {"ids": edition_ids}).all())


@cache
def _accepted_counts_query() -> sa.Select:
    return (
        sa.select(Registration.edition_id, sa.func.count())
        .where(
            Registration.edition_id.in_(sa.bindparam("ids", expanding=True)),
            Registration.status == RegistrationStatus.ACCEPTED,
        )
        .group_by(Registration.edition_id)
    )


def seats_left(edition: Edition, accepted: int) -> int:
    return max(edition.capacity - accepted, 0)


@dataclass(frozen=True)
class EditionCard:
    edition: Edition
    seats_left: int
    registration_open: bool


PAST_PER_PAGE = 12


@cache
def _catalogue_queries() -> tuple[sa.Select, sa.Select]:
    """The home page's two statements, built once per process (`today` is a parameter): building
    and cache-keying them anew on every request cost more than running them."""
    today = sa.bindparam("today", type_=sa.Date)
    upcoming = (
        sa.select(Edition)
        .where(Edition.status == EditionStatus.PUBLISHED, Edition.end_date >= today)
        .order_by(Edition.start_date, Edition.id)
    )
    past = (
        sa.select(Edition)
        .where(
            sa.or_(
                Edition.status == EditionStatus.ARCHIVED,
                sa.and_(Edition.status == EditionStatus.PUBLISHED, Edition.end_date < today),
            )
        )
        .order_by(Edition.start_date.desc(), Edition.id.desc())
    )
    return upcoming, past


def catalogue(
    now: datetime, today: date
) -> tuple[list[EditionCard], list[EditionCard], Pagination]:
    """Published editions not yet ended (open for registration first), and one page of the past
    editions, newest first. Three queries however many editions the school has run."""
    upcoming_query, past_query = _catalogue_queries()
    upcoming_editions = db.session.scalars(upcoming_query, {"today": today}).all()
    past_pager = paginate_counted(past_query, per_page=PAST_PER_PAGE, params={"today": today})
    counts = accepted_counts([e.id for e in [*upcoming_editions, *past_pager.items]])

    def card(e: Edition) -> EditionCard:
        return EditionCard(e, seats_left(e, counts.get(e.id, 0)), e.registration_is_open(now))

    upcoming = [card(e) for e in upcoming_editions]
    upcoming.sort(key=lambda c: (not c.registration_open, c.edition.start_date))
    return upcoming, [card(e) for e in past_pager.items], past_pager


def edition_for_page(slug: str) -> Edition | None:
    """An edition with its modules, trainers and sessions loaded in a fixed number of queries."""
    return db.session.scalar(_edition_page_query(), {"slug": slug})


def edition_page(slug: str) -> tuple[Edition, int] | None:
    """As `edition_for_page`, with the edition's accepted registrations counted in the same
    query (the public edition page)."""
    row = db.session.execute(_edition_page_with_count_query(), {"slug": slug}).first()
    return (row[0], row[1]) if row else None


@cache
def _edition_page_with_count_query() -> sa.Select:
    accepted = (
        sa.select(sa.func.count())
        .where(
            Registration.edition_id == Edition.id,
            Registration.status == RegistrationStatus.ACCEPTED,
        )
        .correlate(Edition)
        .scalar_subquery()
    )
    return _edition_page_query().add_columns(accepted)


@cache
def _edition_page_query() -> sa.Select:
    """Built once per process (the slug is a parameter); each module comes with its edition
    module row (a join), trainers and sessions in one query each."""
    modules = selectinload(Edition.edition_modules)
    return (
        sa.select(Edition)
        .where(Edition.slug == sa.bindparam("slug", type_=sa.String))
        .options(
            modules.joinedload(EditionModule.module, innerjoin=True),
            modules.selectinload(EditionModule.trainers),
            modules.selectinload(EditionModule.sessions),
        )
    )


def edition_with_modules(slug: str) -> Edition | None:
    """An edition (any status) with its modules loaded, for staff pages."""
    return db.session.scalar(
        sa.select(Edition)
        .where(Edition.slug == slug)
        .options(selectinload(Edition.edition_modules).selectinload(EditionModule.module))
    )


def is_visible_to(edition: Edition, user: User | None) -> bool:
    """Drafts are seen only by staff (as a preview)."""
    if edition.status != EditionStatus.DRAFT:
        return True
    return bool(user and user.is_authenticated and user.is_staff)


def schedule_by_day(edition: Edition) -> list[tuple[date, list[Session]]]:
    """The edition's sessions grouped by their local day, in time order."""
    days: dict[date, list[Session]] = defaultdict(list)
    sessions = [s for em in edition.edition_modules for s in em.sessions]
    for session in sorted(sessions, key=lambda s: (s.starts_at, s.position)):
        days[session.starts_at.astimezone(edition.tz).date()].append(session)
    return sorted(days.items())


def registration_of(user: User | None, edition: Edition) -> Registration | None:
    if not (user and user.is_authenticated):
        return None
    return db.session.scalar(
        sa.select(Registration).where(
            Registration.user_id == user.id, Registration.edition_id == edition.id
        )
    )


def active_modules() -> list[Module]:
    return list(
        db.session.scalars(
            sa.select(Module).where(Module.retired_at.is_(None)).order_by(Module.name)
        )
    )


def module_with_editions(slug: str) -> tuple[Module, list[Edition]] | None:
    """A catalogue module and the non-draft editions that offered it, newest first."""
    module = db.session.scalar(sa.select(Module).where(Module.slug == slug))
    if module is None:
        return None
    editions = db.session.scalars(
        sa.select(Edition)
        .join(EditionModule, EditionModule.edition_id == Edition.id)
        .where(EditionModule.module_id == module.id, Edition.status != EditionStatus.DRAFT)
        .order_by(Edition.start_date.desc())
    ).all()
    return module, list(editions)
