"""Staff review of registrations: the list, bulk decisions, capacity and the overview."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import contains_eager, selectinload

from schoolmgr import audit
from schoolmgr.errors import rolls_back
from schoolmgr.extensions import db
from schoolmgr.i18n import fmt_list
from schoolmgr.i18n import gettext as _
from schoolmgr.memo import request_memo
from schoolmgr.models import (
    Country,
    Edition,
    EditionModule,
    Module,
    Nomination,
    Registration,
    RegistrationStatus,
    User,
    registration_modules,
    utcnow,
)
from schoolmgr.pagination import paginate
from schoolmgr.registration.country_seats import country_seats
from schoolmgr.registration.emails import notify
from schoolmgr.registration.errors import RegistrationError
from schoolmgr.registration.seats import (
    accepted_count,
    fill_free_seats,
    lock_edition,
    renumber_waitlist,
    snapshot,
)
from schoolmgr.text import name_collation, search_terms

BULK_ACTIONS = ("accept", "reject", "waitlist", "cancel")


@dataclass
class RegistrationFilters:
    status: str = ""
    country: str = ""
    module_id: int | None = None
    q: str = ""


def registrations_query(edition: Edition, filters: RegistrationFilters) -> sa.Select:
    """Registrations of an edition matching the staff filters, with user and modules loaded,
    in review order (pending, accepted, waiting list, the rest; by name within each)."""
    statement = sa.select(Registration)
    if edition.module_choice:  # the list shows each registration's modules only then
        statement = statement.options(
            selectinload(Registration.modules).selectinload(EditionModule.module)
        )
    shape, params = _filter_shape(edition, filters)
    # Each row's user comes from the join the filters and the order use.
    statement = _filtered(statement, *shape).options(contains_eager(Registration.user))
    return _searched(statement, filters).params(params)


def _filter_shape(
    edition: Edition, filters: RegistrationFilters
) -> tuple[tuple[bool, bool, bool, str], dict]:
    """Which of the status, module and country filters are set and the order of names (what
    `_filtered` takes), and the bind parameters of the select it builds."""
    params = {"edition_id": edition.id}
    status = _status_filter(filters)
    if status is not None:
        params["status"] = status
    if filters.module_id:
        params["module_id"] = filters.module_id
    if filters.country in {c.value for c in Country}:
        params["country"] = Country(filters.country)
    shape = tuple(name in params for name in ("status", "module_id", "country"))
    return (*shape, name_collation()), params


def _filtered(
    statement: sa.Select, by_status: bool, by_module: bool, by_country: bool, collation: str
) -> sa.Select:
    """`statement` narrowed to the edition and the staff filters set, joined to each
    registration's user, in review order with names in `collation`'s; the values are bind
    parameters (`edition_id`, `status`, `module_id`, `country`)."""
    statement = statement.where(Registration.edition_id == sa.bindparam("edition_id"))
    if by_status:
        statement = statement.where(Registration.status == sa.bindparam("status"))
    if by_module:
        statement = statement.where(
            Registration.id.in_(
                sa.select(registration_modules.c.registration_id).where(
                    registration_modules.c.edition_module_id == sa.bindparam("module_id")
                )
            )
        )
    # People are listed by name. An outer join (every registration has its user) lets
    # PostgreSQL drop it from the page's count when no user column is filtered.
    statement = statement.outerjoin(User, User.id == Registration.user_id)
    if by_country:
        statement = statement.where(User.country == sa.bindparam("country"))
    # By status (to decide first), the waiting list in its order, everyone else by name.
    return statement.order_by(
        Registration.review_rank,
        Registration.waitlist_position,
        User.sort_key_column(collation),
        Registration.id,
    )


def _searched(statement: sa.Select, filters: RegistrationFilters) -> sa.Select:
    """`statement` narrowed to users whose name, e-mail or institution hold every word of the
    search (a select of its own for each search: not built once)."""
    for term in search_terms(filters.q):
        statement = statement.where(User.search_key.contains(term, autoescape=True))
    return statement


@dataclass(frozen=True, slots=True)
class ListedRegistration:
    """One row of the staff list, read-only: what the row shows, not the ORM objects (50
    registrations and their users cost more to build and track than the rest of the page)."""

    id: int
    full_name: str
    email: str
    country: Country | None
    institution: str
    position: str
    status: RegistrationStatus
    waitlist_position: int | None
    needs: str
    motivation: str
    nomination: Nomination | None
    nomination_rank: int | None
    nomination_note: str
    created_at: datetime
    modules: tuple[str, ...] = ()  # names, shown for an edition with module choice


_LISTED_COLUMNS = (  # in ListedRegistration's order
    Registration.id,
    User.full_name,
    User.email,
    User.country,
    User.institution,
    User.position,
    Registration.status,
    Registration.waitlist_position,
    Registration.needs,
    Registration.motivation,
    Registration.nomination,
    Registration.nomination_rank,
    Registration.nomination_note,
    Registration.created_at,
)


def registrations_page(edition: Edition, filters: RegistrationFilters) -> Pagination:
    """The ?page=N of the staff list, as `ListedRegistration`s: its keys found first (the sort
    by name joins every registration's user; the rows of one page are then read whole), its
    total from the status counts the page shows anyway when it can be."""

    def listed(rows: list[sa.Row]) -> list[ListedRegistration]:
        names = _module_names([row.id for row in rows]) if edition.module_choice else {}
        return [ListedRegistration(*row, modules=names.get(row.id, ())) for row in rows]

    shape, params = _filter_shape(edition, filters)
    return paginate(
        _searched(_listed_keys(*shape), filters),
        params=params,
        rows=_LISTED_BY_KEYS,
        total=known_total(status_counts(edition), filters),
        build=listed,
    )


@cache  # a few shapes: the filters set, times the languages' orders of names
def _listed_keys(*shape) -> sa.Select:
    """The staff list's registration ids in order, for a shape of filters (see
    `_filter_shape`): built once per process for each, as every page of the list runs it."""
    return _filtered(sa.select(Registration.id), *shape)


_LISTED_BY_KEYS = (  # the page's rows, by their registration ids
    sa.select(*_LISTED_COLUMNS)
    .outerjoin(User, User.id == Registration.user_id)
    .where(Registration.id.in_(sa.bindparam("page_keys", expanding=True)))
)


_MODULE_NAMES = (  # built once per process: every page of a module-choice edition's list
    sa.select(registration_modules.c.registration_id, Module.name)
    .join(EditionModule, EditionModule.id == registration_modules.c.edition_module_id)
    .join(Module, Module.id == EditionModule.module_id)
    .where(
        registration_modules.c.registration_id.in_(sa.bindparam("registration_ids", expanding=True))
    )
    .order_by(EditionModule.position, EditionModule.id)
)


def _module_names(registration_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The names of the modules each registration chose, in the programme's order."""
    rows = db.session.execute(_MODULE_NAMES, {"registration_ids": registration_ids})
    names: dict[int, list[str]] = defaultdict(list)
    for registration_id, name in rows:
        names[registration_id].append(name)
    return {registration_id: tuple(chosen) for registration_id, chosen in names.items()}


def known_total(counts: dict[RegistrationStatus, int], filters: RegistrationFilters) -> int | None:
    """How many registrations `registrations_query` gives, from the edition's `status_counts`,
    when nothing but the status is filtered; else None (the list counts them itself)."""
    if filters.country or filters.module_id or search_terms(filters.q):
        return None
    status = _status_filter(filters)
    return sum(counts.values()) if status is None else counts[status]


def _status_filter(filters: RegistrationFilters) -> RegistrationStatus | None:
    """The status the list is filtered on; None for none or an unknown one (filters nothing)."""
    if filters.status in {s.value for s in RegistrationStatus}:
        return RegistrationStatus(filters.status)
    return None


def status_counts(edition: Edition) -> dict[RegistrationStatus, int]:
    """Registrations of `edition` per status. Counted once per request: the page and its
    Registrations tab both show them, and pages render after their writes."""
    counted = request_memo("registration_status_counts")
    if edition.id not in counted:
        counted[edition.id] = _count_statuses(edition)
    return dict(counted[edition.id])


_STATUS_COUNTS = (  # built once per process: every staff page of an edition counts them
    sa.select(Registration.status, sa.func.count())
    .where(Registration.edition_id == sa.bindparam("edition_id"))
    .group_by(Registration.status)
)


def _count_statuses(edition: Edition) -> dict[RegistrationStatus, int]:
    rows = db.session.execute(_STATUS_COUNTS, {"edition_id": edition.id}).all()
    counts = dict.fromkeys(RegistrationStatus, 0)
    counts.update({RegistrationStatus(status): n for status, n in rows})
    return counts


@rolls_back
def bulk_decide(
    edition: Edition, registration_ids: list[int], action: str, actor: User, reason: str = ""
) -> dict[str, int]:
    """Accept, reject, waitlist or cancel registrations of an edition, all or none. Commits.

    Accepting is refused as a whole when it would exceed the capacity. Seats freed by the
    action go to the waiting list in order. Returns {"changed": n, "promoted": m}.
    """
    if action not in BULK_ACTIONS:
        raise RegistrationError(_("Unknown action."), "unknown_action", 400)
    ids = sorted({int(i) for i in registration_ids})
    if not ids:
        raise RegistrationError(_("Select at least one registration."), "nothing_selected", 400)
    locked = lock_edition(edition.id)
    selected = list(
        db.session.scalars(
            sa.select(Registration)
            .where(Registration.edition_id == locked.id, Registration.id.in_(ids))
            .options(selectinload(Registration.user))
            .order_by(Registration.waitlist_position, Registration.created_at, Registration.id)
            .execution_options(populate_existing=True)
        )
    )
    if len(selected) != len(ids):
        raise RegistrationError(
            _("Some selected registrations do not belong to this edition."), "not_found", 404
        )
    target = {
        "accept": RegistrationStatus.ACCEPTED,
        "reject": RegistrationStatus.REJECTED,
        "waitlist": RegistrationStatus.WAITLISTED,
        "cancel": RegistrationStatus.CANCELLED,
    }[action]
    changing = [r for r in selected if r.status != target]
    if locked.nomination_required and action in ("accept", "waitlist"):
        unnominated = [r for r in changing if r.nomination != Nomination.NOMINATED]
        if unnominated:
            raise RegistrationError(
                _(
                    "This edition requires a nomination: %(names)s not nominated by their "
                    "national coordinator yet.",
                    names=fmt_list(r.user.full_name for r in unnominated[:5]),
                ),
                "not_nominated",
                409,
            )
    if action == "accept":
        taken = accepted_count(locked.id)
        if taken + len(changing) > locked.capacity:
            raise RegistrationError(
                _(
                    "Accepting %(n)d more would exceed the capacity of %(cap)d "
                    "(%(free)d seats free). Raise the capacity first or select fewer.",
                    n=len(changing),
                    cap=locked.capacity,
                    free=max(locked.capacity - taken, 0),
                ),
                "over_capacity",
                409,
            )
    now = utcnow()
    freed_seat = False
    next_position = (
        db.session.scalar(
            sa.select(sa.func.max(Registration.waitlist_position)).where(
                Registration.edition_id == locked.id,
                Registration.status == RegistrationStatus.WAITLISTED,
            )
        )
        or 0
    )
    for registration in changing:
        before = snapshot(registration)
        freed_seat |= registration.status == RegistrationStatus.ACCEPTED
        registration.status = target
        if target == RegistrationStatus.WAITLISTED:
            next_position += 1
            registration.waitlist_position = next_position
        else:
            registration.waitlist_position = None
        if target == RegistrationStatus.CANCELLED:
            registration.cancelled_at = now
        else:
            registration.decided_at = now
            registration.decided_by_id = actor.id
        audit.record(
            f"registration.{target.value}",
            target=registration,
            actor=actor,
            edition_id=locked.id,
            summary=f"{registration.user.full_name}: {before['status']} → {target.value}",
            reason=reason,
            before=before,
            after=snapshot(registration),
        )
    renumber_waitlist(locked.id)
    for registration in changing:  # after renumbering, so emails carry the final position
        notify(f"registration_{target.value}", registration, locked)
    promoted = fill_free_seats(locked, actor) if freed_seat else []
    db.session.commit()
    return {"changed": len(changing), "promoted": len(promoted)}


@rolls_back
def set_capacity(edition: Edition, capacity: int, actor: User) -> list[Registration]:
    """Change the capacity; raising it promotes from the waiting list in order. Commits."""
    if capacity < 0 or capacity > 100_000:
        raise RegistrationError(_("Enter a capacity of 0 or more."), "capacity_invalid", 400)
    locked = lock_edition(edition.id)
    taken = accepted_count(locked.id)
    reserved = sum(q.seats for q in locked.seat_quotas)
    if capacity < reserved:
        raise RegistrationError(
            _(
                "%(n)d seats are reserved for countries: the capacity cannot be lower. "
                "Lower the country seats first.",
                n=reserved,
            ),
            "capacity_below_quotas",
            409,
        )
    if capacity < taken:
        raise RegistrationError(
            _(
                "%(n)d participants are already accepted: the capacity cannot be lower.",
                n=taken,
            ),
            "capacity_below_accepted",
            409,
        )
    before = {"capacity": locked.capacity}
    locked.capacity = capacity
    audit.record(
        "edition.capacity_changed",
        target=locked,
        actor=actor,
        edition_id=locked.id,
        summary=f"Capacity {before['capacity']} → {capacity}",
        before=before,
        after={"capacity": capacity},
    )
    promoted = fill_free_seats(locked, actor)
    db.session.commit()
    return promoted


@dataclass
class OverviewRow:
    label: str
    total: int
    accepted: int


def overview(edition: Edition) -> dict:
    """Numbers of an edition by status, country, institution and module (active registrations)."""
    counts = status_counts(edition)
    rows = db.session.execute(
        sa.select(Registration.id, Registration.status, User.country, User.institution)
        .join(Registration.user)
        .where(Registration.edition_id == edition.id, Registration.is_active)
    ).all()
    module_rows = db.session.execute(
        sa.select(registration_modules.c.edition_module_id, Registration.status)
        .join(Registration, Registration.id == registration_modules.c.registration_id)
        .where(Registration.edition_id == edition.id, Registration.is_active)
    ).all()

    def tally(pairs) -> list[OverviewRow]:
        total, accepted = Counter(), Counter()
        for key, status in pairs:
            total[key] += 1
            accepted[key] += status == RegistrationStatus.ACCEPTED
        return [
            OverviewRow(key, n, accepted[key])
            for key, n in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))
        ]

    by_country = tally(((c.label if c else _("Not given")), s) for _id, s, c, _i in rows)
    by_institution = tally(((i or _("Not given")), s) for _id, s, _c, i in rows)
    names = {em.id: em.module.name for em in edition.edition_modules}
    if edition.module_choice:
        by_module = tally((names.get(mid, "?"), s) for mid, s in module_rows)
    else:  # everyone attends every module
        n_total = len(rows)
        n_accepted = sum(1 for r in rows if r[1] == RegistrationStatus.ACCEPTED)
        by_module = [
            OverviewRow(names[em.id], n_total, n_accepted) for em in edition.edition_modules
        ]
    return {
        "by_status": counts,
        "country_seats": country_seats(edition),
        "by_country": by_country,
        "by_institution": by_institution,
        "by_module": by_module,
        "show_kosovo_note": any(r[2] == Country.KOSOVO for r in rows),
        "active_total": len(rows),
    }
