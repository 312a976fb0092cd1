"""Read-side rules of the public catalogue: what visitors see and in which order."""

from collections import defaultdict
from dataclasses import dataclass, field
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
    edition_module_trainers,
)
from schoolmgr.models.edition import why_registration_is_closed
from schoolmgr.pagination import paginate
from schoolmgr.readonly import rows
from schoolmgr.text import name_collation


def accepted_counts(edition_ids: list[int]) -> dict[int, int]:
    """Accepted registrations per edition, in one query."""
    if not edition_ids:
        return {}
    return dict(rows(_accepted_counts_query(), {"ids": edition_ids}).all())


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
    edition: Edition  # or a row of its columns (the home page)
    seats_left: int
    registration_open: bool


PAST_PER_PAGE = 12


# What an edition card shows (and `registration_is_open` reads), as plain rows: the home page's
# cards cost less without an ORM object per edition, and the rest of the row (the description
# above all) is not loaded for a list.
_CARD_COLUMNS = (
    Edition.id,
    Edition.title,
    Edition.slug,
    Edition.kind,
    Edition.format,
    Edition.venue,
    Edition.start_date,
    Edition.end_date,
    Edition.capacity,
    Edition.status,
    Edition.registration_opens_at,
    Edition.registration_closes_at,
)


def _accepted_of_edition() -> sa.ScalarSelect:
    """The edition's accepted registrations counted in a subquery of a query over editions."""
    return (
        sa.select(sa.func.count())
        .where(
            Registration.edition_id == Edition.id,
            Registration.status == RegistrationStatus.ACCEPTED,
        )
        .correlate(Edition)
        .scalar_subquery()
    )


@cache
def _catalogue_queries() -> tuple[sa.Select, sa.Select]:
    """The home page's two statements, built once per process (`today` is a parameter): building
    and cache-keying them anew on every request cost more than running them. The upcoming
    editions carry their accepted registrations, for the seats left."""
    today = sa.bindparam("today", type_=sa.Date)
    upcoming = (
        sa.select(*_CARD_COLUMNS, _accepted_of_edition().label("accepted"))
        .where(Edition.status == EditionStatus.PUBLISHED, Edition.end_date >= today)
        .order_by(Edition.start_date, Edition.id)
    )
    past = (
        sa.select(*_CARD_COLUMNS)
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
    editions, newest first. Two queries however many editions the school has run (three when
    the page shows an archived edition that has not ended yet, the only past one with seats).
    Each card's edition is a row of `_CARD_COLUMNS`, not an Edition."""
    upcoming_query, past_query = _catalogue_queries()
    upcoming_rows = rows(upcoming_query, {"today": today}).all()
    past_pager = paginate(past_query, PAST_PER_PAGE, params={"today": today})
    counts = accepted_counts([e.id for e in past_pager.items if e.end_date >= today])
    counts.update({e.id: e.accepted for e in upcoming_rows})

    def card(e) -> EditionCard:
        open_now = why_registration_is_closed(e, now) is None
        return EditionCard(e, seats_left(e, counts.get(e.id, 0)), open_now)

    upcoming = [card(e) for e in upcoming_rows]
    upcoming.sort(key=lambda c: (not c.registration_open, c.edition.start_date))
    return upcoming, [card(e) for e in past_pager.items], past_pager


def edition_for_page(slug: str) -> Edition | None:
    """An edition with its modules, trainers and sessions loaded in a fixed number of queries."""
    return db.session.scalar(_edition_page_query(), {"slug": slug})


def edition_page(slug: str) -> tuple[Edition, int] | None:
    """An edition with its accepted registrations counted in the same query (the public
    edition page; its programme comes from `programme_of`)."""
    row = db.session.execute(_edition_with_count_query(), {"slug": slug}).first()
    return (row[0], row[1]) if row else None


@cache
def _edition_with_count_query() -> sa.Select:
    return sa.select(Edition, _accepted_of_edition()).where(
        Edition.slug == sa.bindparam("slug", type_=sa.String)
    )


@dataclass
class ProgrammeSession:
    """A session as the public edition page shows it (plain values, not an ORM object)."""

    starts_at: datetime
    ends_at: datetime
    title: str
    room: str
    position: int
    module_name: str


@dataclass
class ProgrammeModule:
    """A module of an edition as the public page shows it, with its trainers' names."""

    id: int
    slug: str
    name: str
    summary: str
    mandatory: bool
    trainers: list[str] = field(default_factory=list)


@dataclass
class Programme:
    modules: list[ProgrammeModule]
    sessions: list[ProgrammeSession]


def programme_of(edition_id: int) -> Programme:
    """The modules (in programme order) with their trainers, and every session, of an edition:
    plain rows in two queries, however many modules, trainers and sessions it has. Building
    ORM objects for them cost more than the queries on the public edition page."""
    modules_query, trainers_query = _programme_queries(name_collation())
    modules: dict[int, ProgrammeModule] = {}
    sessions: list[ProgrammeSession] = []
    for row in rows(modules_query, {"edition_id": edition_id}):
        module = modules.get(row.id)
        if module is None:
            module = modules[row.id] = ProgrammeModule(
                row.id, row.slug, row.name, row.summary or "", row.mandatory
            )
        if row.starts_at is not None:
            sessions.append(
                ProgrammeSession(
                    row.starts_at, row.ends_at, row.title, row.room, row.position, row.name
                )
            )
    for edition_module_id, full_name in rows(trainers_query, {"edition_id": edition_id}):
        modules[edition_module_id].trainers.append(full_name)
    return Programme(list(modules.values()), sessions)


@cache
def _programme_queries(collation: str) -> tuple[sa.Select, sa.Select]:
    """Built once per process and name order; the edition is a parameter. Modules come with
    their sessions (an outer join: a module without sessions is still listed)."""
    edition_id = sa.bindparam("edition_id", type_=sa.Integer)
    modules = (
        sa.select(
            EditionModule.id,
            EditionModule.mandatory,
            Module.slug,
            Module.name,
            Module.summary,
            Session.starts_at,
            Session.ends_at,
            Session.title,
            Session.room,
            Session.position,
        )
        .join(Module, Module.id == EditionModule.module_id)
        .outerjoin(Session, Session.edition_module_id == EditionModule.id)
        .where(EditionModule.edition_id == edition_id)
        .order_by(EditionModule.position, EditionModule.id, Session.starts_at, Session.position)
    )
    trainers = (
        sa.select(edition_module_trainers.c.edition_module_id, User.full_name)
        .join(User, User.id == edition_module_trainers.c.user_id)
        .join(EditionModule, EditionModule.id == edition_module_trainers.c.edition_module_id)
        .where(EditionModule.edition_id == edition_id)
        .order_by(User.sort_key_column(collation), User.id)
    )
    return modules, trainers


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
    """An edition (any status) with its modules loaded (one query for them and their names),
    for staff pages and the registration form."""
    return db.session.scalar(
        sa.select(Edition)
        .where(Edition.slug == slug)
        .options(
            selectinload(Edition.edition_modules).joinedload(EditionModule.module, innerjoin=True)
        )
    )


def is_visible_to(edition: Edition, user: User | None) -> bool:
    """Drafts are seen only by staff (as a preview)."""
    if edition.status != EditionStatus.DRAFT:
        return True
    return bool(user and user.is_authenticated and user.is_staff)


def schedule_by_day(
    edition: Edition, sessions: list[ProgrammeSession]
) -> list[tuple[date, list[ProgrammeSession]]]:
    """The edition's sessions grouped by their local day, in time order."""
    days: dict[date, list[ProgrammeSession]] = defaultdict(list)
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
