"""Registration rules: applying, capacity and waiting list, staff decisions, exports, calendars.

Every decision that depends on how many seats are taken runs while the edition row is locked
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite serialises writers anyway), so capacity is never
exceeded and waiting-list positions stay 1..N without gaps or duplicates, also under concurrency.

An edition may reserve part of its capacity per country (EditionSeatQuota). `SeatBook` is the one
rule for who may take a free seat: while quotas bind, a person takes a seat of their country's
quota or of the seats given to no country; once the quotas are released (by staff, or their
release date has passed), the capacity is shared by all again. There is one waiting list, in
order; promotion takes the first people on it who may take a free seat.
"""

import csv
import io
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import contains_eager, selectinload

from schoolmgr import audit
from schoolmgr.errors import DomainError
from schoolmgr.exports import spreadsheet_safe
from schoolmgr.extensions import db
from schoolmgr.mail import queue_email
from schoolmgr.models import (
    KOSOVO_FOOTNOTE,
    Country,
    Edition,
    EditionModule,
    EditionSeatQuota,
    EditionStatus,
    Gender,
    InstitutionType,
    Nomination,
    Registration,
    RegistrationMode,
    RegistrationStatus,
    Session,
    User,
    registration_modules,
    utcnow,
)
from schoolmgr.models.types import random_token
from schoolmgr.public.services import edition_with_modules
from schoolmgr.text import normalise_line, search_terms, sorted_people

log = logging.getLogger(__name__)

ACTIVE_STATUSES = (
    RegistrationStatus.PENDING,
    RegistrationStatus.ACCEPTED,
    RegistrationStatus.WAITLISTED,
)
BULK_ACTIONS = ("accept", "reject", "waitlist", "cancel")


class RegistrationError(DomainError):
    """Codes: edition_not_found, edition_draft, edition_archived, registration_not_open,
    registration_closed, already_registered, consent_required, module_required, unknown_module,
    not_found, not_yours, already_cancelled, not_cancellable, over_capacity, unknown_action,
    nothing_selected, capacity_invalid, capacity_below_accepted, capacity_below_quotas,
    quota_invalid, quotas_over_capacity, release_in_past, no_quotas, already_released,
    not_nominated."""


# --- locking and counting -------------------------------------------------------------------


def _rolls_back(service):
    """Roll back (and so release the edition lock) when a committing service says no."""

    @wraps(service)
    def wrapped(*args, **kwargs):
        try:
            return service(*args, **kwargs)
        except RegistrationError:
            db.session.rollback()
            raise

    return wrapped


def lock_edition(edition_id: int) -> Edition:
    """Lock the edition row for the rest of the transaction and return it freshly loaded."""
    edition = db.session.scalar(
        sa.select(Edition)
        .where(Edition.id == edition_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if edition is None:
        raise RegistrationError(_("This edition does not exist."), "edition_not_found", 404)
    # Its country seats may have changed since this session loaded them: reload on next use.
    db.session.expire(edition, ["seat_quotas"])
    return edition


def accepted_count(edition_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Registration.id)).where(
            Registration.edition_id == edition_id,
            Registration.status == RegistrationStatus.ACCEPTED,
        )
    )


# --- country seats --------------------------------------------------------------------------


def quota_country(user: User) -> Country:
    """The country whose seats a person takes: their own, or "Other" when they gave none."""
    return user.country or Country.OTHER


@dataclass
class SeatBook:
    """The seats of a locked edition: who may take a free one now (see the module docstring)."""

    capacity: int
    accepted: Counter = field(default_factory=Counter)  # by quota country
    quotas: dict[Country, int] = field(default_factory=dict)  # empty when quotas do not bind

    @property
    def taken(self) -> int:
        return sum(self.accepted.values())

    @property
    def free(self) -> int:
        return max(self.capacity - self.taken, 0)

    def free_for(self, country: Country) -> int:
        """Free seats a person of `country` may take."""
        if not self.quotas:
            return self.free
        own = max(self.quotas.get(country, 0) - self.accepted[country], 0)
        open_seats = self.capacity - sum(self.quotas.values())
        open_used = sum(max(n - self.quotas.get(c, 0), 0) for c, n in self.accepted.items())
        return min(self.free, own + max(open_seats - open_used, 0))

    def take(self, country: Country) -> None:
        self.accepted[country] += 1


def seat_book(edition: Edition, now: datetime | None = None) -> SeatBook:
    """The seat book of an edition (lock it first when deciding on its strength)."""
    rows = db.session.execute(
        sa.select(User.country, sa.func.count(Registration.id))
        .join(Registration.user)
        .where(
            Registration.edition_id == edition.id,
            Registration.status == RegistrationStatus.ACCEPTED,
        )
        .group_by(User.country)
    ).all()
    accepted = Counter()
    for country, n in rows:
        accepted[country or Country.OTHER] += n
    quotas = {}
    if edition.quotas_bind(now or utcnow()):
        quotas = {q.country: q.seats for q in edition.seat_quotas}
    return SeatBook(edition.capacity, accepted, quotas)


def _release_if_due(edition: Edition, now: datetime, actor: User | None = None) -> bool:
    """Stamp the release of the country seats when their date has passed; True if it did."""
    due = edition.quota_release_at is not None and now >= edition.quota_release_at
    if edition.quotas_released_at is not None or not due or not edition.seat_quotas:
        return False
    _stamp_release(edition, now, actor, "Country seats released to everyone (release date reached)")
    return True


def _stamp_release(edition: Edition, now: datetime, actor: User | None, summary: str) -> None:
    """Open the edition's country seats to everyone from `now`, with its audit entry."""
    edition.quotas_released_at = now
    audit.record(
        "edition.quotas_released",
        target=edition,
        actor=actor,
        edition_id=edition.id,
        summary=summary,
        after={"quotas_released_at": now.isoformat()},
    )


def _waitlist(edition_id: int) -> list[Registration]:
    return list(
        db.session.scalars(
            sa.select(Registration)
            .where(
                Registration.edition_id == edition_id,
                Registration.status == RegistrationStatus.WAITLISTED,
            )
            .order_by(Registration.waitlist_position, Registration.created_at, Registration.id)
            .options(selectinload(Registration.user))
            .execution_options(populate_existing=True)
        )
    )


def _renumber_waitlist(edition_id: int) -> list[Registration]:
    """Give the waiting list positions 1..N in its current order; return it."""
    db.session.flush()
    waiting = _waitlist(edition_id)
    for position, registration in enumerate(waiting, start=1):
        registration.waitlist_position = position
    return waiting


def _reload(registration: Registration) -> Registration:
    """Re-read a registration after taking the lock: another request may have changed it."""
    return db.session.scalar(
        sa.select(Registration)
        .where(Registration.id == registration.id)
        .execution_options(populate_existing=True)
    )


# --- emails ---------------------------------------------------------------------------------

EMAIL_SUBJECTS = {
    "registration_received": lambda e: _l("Registration received: %(t)s", t=e.title),
    "registration_accepted": lambda e: _l("You have a seat at %(t)s", t=e.title),
    "registration_waitlisted": lambda e: _l("You are on the waiting list for %(t)s", t=e.title),
    "registration_promoted": lambda e: _l("A seat is free: you are accepted at %(t)s", t=e.title),
    "registration_rejected": lambda e: _l("Your registration for %(t)s", t=e.title),
    "registration_cancelled": lambda e: _l("Registration cancelled: %(t)s", t=e.title),
}


def _notify(template: str, registration: Registration, edition: Edition) -> None:
    queue_email(
        registration.user,
        template,
        EMAIL_SUBJECTS[template](edition),
        user=registration.user,
        edition=edition,
        registration=registration,
    )


def _snapshot(registration: Registration) -> dict:
    return {
        "status": registration.status.value,
        "waitlist_position": registration.waitlist_position,
    }


# --- the shared contract --------------------------------------------------------------------


def fill_free_seats(
    edition: Edition, actor: User | None = None, now: datetime | None = None
) -> list[Registration]:
    """Promote waitlisted registrations into free seats, in waiting-list order.

    While country seats bind, a free seat goes to the first on the waiting list who may take it
    (a free Serbian seat to the first Serbian). Country seats whose release date has passed are
    released first. Renumbers the rest of the waiting list 1..N and queues the "promoted" emails.
    Does not commit: the caller owns the transaction (and the edition row stays locked until it
    commits).
    """
    now = now or utcnow()
    locked = lock_edition(edition.id)
    _release_if_due(locked, now, actor)
    book = seat_book(locked, now)
    promoted = []
    if book.free:
        for registration in _waitlist(locked.id):
            country = quota_country(registration.user)
            if book.free_for(country) > 0:
                book.take(country)
                promoted.append(registration)
                if not book.free:
                    break
    for registration in promoted:
        before = _snapshot(registration)
        registration.status = RegistrationStatus.ACCEPTED
        registration.waitlist_position = None
        registration.decided_at = now
        registration.decided_by_id = actor.id if actor else None
        audit.record(
            "registration.promoted",
            target=registration,
            actor=actor,
            edition_id=locked.id,
            summary=f"{registration.user.full_name} promoted from the waiting list",
            before=before,
            after=_snapshot(registration),
        )
        _notify("registration_promoted", registration, locked)
    if promoted:
        _renumber_waitlist(locked.id)
    return promoted


# --- participant side -----------------------------------------------------------------------


def check_can_register(edition: Edition, now: datetime) -> None:
    """Raise unless the edition takes registrations at `now`."""
    if edition.status == EditionStatus.DRAFT:
        raise RegistrationError(_("This edition is not published."), "edition_draft", 404)
    if edition.status == EditionStatus.ARCHIVED:
        raise RegistrationError(
            _("This edition is archived and no longer takes registrations."),
            "edition_archived",
            400,
        )
    if edition.registration_opens_at and now < edition.registration_opens_at:
        raise RegistrationError(
            _("Registration for this edition has not opened yet."), "registration_not_open", 400
        )
    if edition.registration_closes_at and now >= edition.registration_closes_at:
        raise RegistrationError(
            _("Registration for this edition is closed."), "registration_closed", 400
        )


def registration_of(user: User, edition: Edition) -> Registration | None:
    return db.session.scalar(
        sa.select(Registration).where(
            Registration.user_id == user.id, Registration.edition_id == edition.id
        )
    )


def _already_registered() -> RegistrationError:
    return RegistrationError(
        _("You are already registered for this edition."), "already_registered", 409
    )


@_rolls_back
def register(
    user: User,
    edition: Edition,
    *,
    consent: bool,
    country: Country | str | None = None,
    institution: str | None = None,
    position: str | None = None,
    gender: Gender | str | None = None,
    institution_type: InstitutionType | str | None = None,
    module_ids: list[int] | None = None,
    motivation: str = "",
    needs: str = "",
    now: datetime | None = None,
) -> Registration:
    """Register `user` for `edition`: accepted, waitlisted or pending, and tell them by email.

    Profile fields given here are saved back to the user's profile (an unanswered optional
    gender or institution type leaves the profile's answer as it is). Commits.
    """
    now = now or utcnow()
    edition_id, user_id = edition.id, user.id
    check_can_register(edition, now)
    if not consent:
        raise RegistrationError(
            _("Please agree to the processing of your personal data to register."),
            "consent_required",
            400,
        )
    if registration_of(user, edition) is not None:
        raise _already_registered()
    chosen = _chosen_modules(edition, module_ids or [])

    try:
        locked = lock_edition(edition_id)
        check_can_register(locked, now)  # staff may have closed it meanwhile
        if country:
            user.country = Country(country)
        if institution is not None:
            user.institution = normalise_line(institution)
        if position is not None:
            user.position = normalise_line(position)
        if gender:
            user.gender = Gender(gender)
        if institution_type:
            user.institution_type = InstitutionType(institution_type)
        registration = Registration(
            user=user,
            edition=locked,
            motivation=motivation.strip(),
            needs=needs.strip(),
            consent_at=now,
        )
        registration.modules = chosen
        if locked.registration_mode == RegistrationMode.MODERATED or locked.nomination_required:
            registration.status = RegistrationStatus.PENDING
            template = "registration_received"
        elif seat_book(locked, now).free_for(quota_country(user)) > 0:
            registration.status = RegistrationStatus.ACCEPTED
            registration.decided_at = now
            template = "registration_accepted"
        else:
            last = db.session.scalar(
                sa.select(sa.func.max(Registration.waitlist_position)).where(
                    Registration.edition_id == edition_id,
                    Registration.status == RegistrationStatus.WAITLISTED,
                )
            )
            registration.status = RegistrationStatus.WAITLISTED
            registration.waitlist_position = (last or 0) + 1
            template = "registration_waitlisted"
        db.session.add(registration)
        db.session.flush()
        audit.record(
            "registration.created",
            target=registration,
            actor=user,
            edition_id=edition_id,
            summary=f"{user.full_name} registered ({registration.status.value})",
            after=_snapshot(registration),
        )
        _notify(template, registration, locked)
        db.session.commit()
    except sa.exc.IntegrityError as exc:  # the same person registering twice at once
        db.session.rollback()
        if db.session.scalar(
            sa.select(Registration.id).where(
                Registration.user_id == user_id, Registration.edition_id == edition_id
            )
        ):
            raise _already_registered() from exc
        raise
    return registration


def _chosen_modules(edition: Edition, module_ids: list[int]) -> list[EditionModule]:
    """The edition modules a participant picked; mandatory ones are always included.

    Editions without a choice store no modules: their participants attend all of them.
    """
    if not edition.module_choice:
        return []
    offered = {em.id: em for em in edition.edition_modules}
    unknown = [mid for mid in module_ids if mid not in offered]
    if unknown:
        raise RegistrationError(_("Choose modules offered by this edition."), "unknown_module", 400)
    chosen = set(module_ids) | {em.id for em in offered.values() if em.mandatory}
    if offered and not chosen:
        raise RegistrationError(
            _("Choose at least one module you want to attend."), "module_required", 400
        )
    return [em for em in edition.edition_modules if em.id in chosen]


def own_registration(user: User, registration_id: int) -> Registration:
    """A registration of `user` (404 for anyone else's, so ids reveal nothing)."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.user_id != user.id:
        raise RegistrationError(_("Registration not found."), "not_found", 404)
    return registration


@_rolls_back
def cancel(registration: Registration, actor: User, reason: str = "") -> list[Registration]:
    """Cancel a registration; a freed seat goes to the first on the waiting list. Commits.

    Returns the registrations promoted as a result.
    """
    lock_edition(registration.edition_id)
    registration = _reload(registration)
    promoted = _cancel_locked(registration, actor, reason)
    db.session.commit()
    return promoted


def _cancel_locked(registration: Registration, actor: User, reason: str) -> list[Registration]:
    if registration.status == RegistrationStatus.CANCELLED:
        raise RegistrationError(
            _("This registration is already cancelled."), "already_cancelled", 409
        )
    if registration.status == RegistrationStatus.REJECTED:
        raise RegistrationError(
            _("A registration that was not accepted cannot be cancelled."), "not_cancellable", 409
        )
    edition = registration.edition
    before = _snapshot(registration)
    was = registration.status
    registration.status = RegistrationStatus.CANCELLED
    registration.waitlist_position = None
    registration.cancelled_at = utcnow()
    audit.record(
        "registration.cancelled",
        target=registration,
        actor=actor,
        edition_id=edition.id,
        summary=f"{registration.user.full_name} cancelled",
        reason=reason,
        before=before,
        after=_snapshot(registration),
    )
    _notify("registration_cancelled", registration, edition)
    promoted: list[Registration] = []
    if was == RegistrationStatus.ACCEPTED:
        db.session.flush()
        promoted = fill_free_seats(edition, actor)
    elif was == RegistrationStatus.WAITLISTED:
        _renumber_waitlist(edition.id)
    return promoted


def my_registrations(user: User) -> list[Registration]:
    """A participant's registrations, newest edition first, in a fixed number of queries."""
    return list(
        db.session.scalars(
            sa.select(Registration)
            .join(Registration.edition)
            .where(Registration.user_id == user.id)
            .order_by(Edition.start_date.desc())
            .options(
                selectinload(Registration.edition)
                .selectinload(Edition.edition_modules)
                .selectinload(EditionModule.module),
                selectinload(Registration.modules).selectinload(EditionModule.module),
            )
        )
    )


@dataclass(frozen=True)
class ScheduleEntry:
    session: Session
    edition: Edition
    module_name: str


def my_schedule(user: User, from_time: datetime | None = None) -> list[ScheduleEntry]:
    """Sessions of the user's accepted registrations (their chosen modules), in time order."""
    registrations = db.session.scalars(
        sa.select(Registration)
        .where(
            Registration.user_id == user.id,
            Registration.status == RegistrationStatus.ACCEPTED,
        )
        .options(
            selectinload(Registration.edition)
            .selectinload(Edition.edition_modules)
            .selectinload(EditionModule.sessions),
            selectinload(Registration.edition)
            .selectinload(Edition.edition_modules)
            .selectinload(EditionModule.module),
            selectinload(Registration.modules),
        )
    ).all()
    entries = []
    for registration in registrations:
        edition = registration.edition
        chosen = {em.id for em in registration.modules}
        for em in edition.edition_modules:
            if edition.module_choice and chosen and em.id not in chosen:
                continue
            for session in em.sessions:
                if from_time is None or session.ends_at >= from_time:
                    entries.append(ScheduleEntry(session, edition, em.module.name))
    entries.sort(key=lambda e: (e.session.starts_at, e.session.position, e.session.id))
    return entries


def upcoming_and_past(
    entries: list[ScheduleEntry], now: datetime
) -> tuple[list[ScheduleEntry], list[ScheduleEntry]]:
    """The schedule split at `now`: sessions not yet ended (soonest first), and the ended ones
    (most recent first)."""
    upcoming = [e for e in entries if e.session.ends_at >= now]
    past = [e for e in entries if e.session.ends_at < now]
    return upcoming, past[::-1]


def user_for_calendar_token(token: str) -> User | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(
        sa.select(User).where(User.calendar_token == token, User.active.is_(True))
    )


def reset_calendar_token(user: User) -> None:
    """Give the user a new calendar feed address; the old one stops working at once."""
    user.calendar_token = random_token()
    db.session.commit()


def schedule_ics(user: User) -> bytes:
    """The user's schedule as an RFC 5545 calendar."""
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", "-//schoolmgr//Registration schedule//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{current_app.config['SCHOOL_NAME']}: {user.full_name}")
    stamp = utcnow()
    for entry in my_schedule(user):
        calendar.add_component(
            session_event(entry.session, entry.edition, entry.module_name, user, stamp)
        )
    return calendar.to_ical()


def session_event(session: Session, edition: Edition, module_name: str, user: User, stamp):
    """One session as an iCalendar event for `user` (the feed, reminders): same UID in both,
    so a calendar app that imported the reminder's file updates the same entry."""
    from icalendar import Event

    base_url = current_app.config["BASE_URL"].rstrip("/")
    host = base_url.split("://", 1)[-1].split("/", 1)[0] or "schoolmgr"
    event = Event()
    event.add("uid", f"session-{session.id}-user-{user.id}@{host}")
    event.add("dtstamp", stamp)
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    summary = module_name + (f": {session.title}" if session.title else "")
    event.add("summary", summary)
    place = session.room or edition.venue
    if session.online_url or edition.online_url:
        place = ", ".join(p for p in (place, session.online_url or edition.online_url) if p)
    if place:
        event.add("location", place)
    event.add("description", edition.title)
    event.add("url", f"{base_url}/editions/{edition.slug}")
    return event


def session_ics(session: Session, edition: Edition, module_name: str, user: User) -> bytes:
    """A calendar file holding one session, to attach to a reminder."""
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", "-//schoolmgr//Session reminder//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(session_event(session, edition, module_name, user, utcnow()))
    return calendar.to_ical()


# --- staff side -----------------------------------------------------------------------------


@dataclass
class RegistrationFilters:
    status: str = ""
    country: str = ""
    module_id: int | None = None
    q: str = ""


def registrations_query(edition: Edition, filters: RegistrationFilters) -> sa.Select:
    """Registrations of an edition matching the staff filters, with user and modules loaded,
    in review order (pending, accepted, waiting list, the rest; oldest first within each)."""
    statement = sa.select(Registration).where(Registration.edition_id == edition.id)
    if edition.module_choice:  # the list shows each registration's modules only then
        statement = statement.options(
            selectinload(Registration.modules).selectinload(EditionModule.module)
        )
    if filters.status in {s.value for s in RegistrationStatus}:
        statement = statement.where(Registration.status == RegistrationStatus(filters.status))
    if filters.module_id:
        statement = statement.where(
            Registration.id.in_(
                sa.select(registration_modules.c.registration_id).where(
                    registration_modules.c.edition_module_id == filters.module_id
                )
            )
        )
    terms = search_terms(filters.q)
    # People are listed by name, and each row's user comes from the same join. An outer join
    # (every registration has its user) lets PostgreSQL drop it from the page's count when no
    # user column is filtered.
    statement = statement.outerjoin(Registration.user).options(contains_eager(Registration.user))
    if filters.country in {c.value for c in Country}:
        statement = statement.where(User.country == Country(filters.country))
    for term in terms:
        statement = statement.where(User.search_key.contains(term, autoescape=True))
    # By status (to decide first), the waiting list in its order, everyone else by name.
    return statement.order_by(
        Registration.review_rank,
        Registration.waitlist_position,
        User.sort_key,
        Registration.id,
    )


def accepted_registration_for(user: User, edition_module: EditionModule) -> Registration | None:
    """The user's accepted registration covering this module (chosen, when the edition offers a
    choice of modules)."""
    query = sa.select(Registration).where(
        Registration.user_id == user.id,
        Registration.edition_id == edition_module.edition_id,
        Registration.status == RegistrationStatus.ACCEPTED,
    )
    if edition_module.edition.module_choice:
        query = query.join(
            registration_modules, registration_modules.c.registration_id == Registration.id
        ).where(registration_modules.c.edition_module_id == edition_module.id)
    return db.session.scalar(query.limit(1))


def status_counts(edition: Edition) -> dict[RegistrationStatus, int]:
    rows = db.session.execute(
        sa.select(Registration.status, sa.func.count())
        .where(Registration.edition_id == edition.id)
        .group_by(Registration.status)
    ).all()
    counts = dict.fromkeys(RegistrationStatus, 0)
    counts.update({RegistrationStatus(status): n for status, n in rows})
    return counts


def staff_edition(slug: str) -> Edition:
    edition = edition_with_modules(slug)
    if edition is None:
        raise RegistrationError(_("This edition does not exist."), "edition_not_found", 404)
    return edition


@_rolls_back
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
                    names=", ".join(r.user.full_name for r in unnominated[:5]),
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
        before = _snapshot(registration)
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
            after=_snapshot(registration),
        )
    _renumber_waitlist(locked.id)
    for registration in changing:  # after renumbering, so emails carry the final position
        _notify(f"registration_{target.value}", registration, locked)
    promoted = fill_free_seats(locked, actor) if freed_seat else []
    db.session.commit()
    return {"changed": len(changing), "promoted": len(promoted)}


@_rolls_back
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


QUOTA_COUNTRIES = tuple(Country)


@_rolls_back
def set_country_seats(
    edition: Edition,
    quotas: dict[Country, int],
    release_at: datetime | None,
    nomination_required: bool,
    actor: User,
    now: datetime | None = None,
) -> list[Registration]:
    """Reserve seats per country, set their release date and whether nominations are required.

    Country seats together may not exceed the capacity. Changing them may free seats for people
    on the waiting list, who are promoted at once. Commits; returns the promoted registrations.
    """
    now = now or utcnow()
    clean: dict[Country, int] = {}
    for country, seats in quotas.items():
        if seats is None:
            continue
        if not isinstance(seats, int) or seats < 0 or seats > 100_000:
            raise RegistrationError(
                _("Enter 0 or more seats for %(c)s.", c=Country(country).label),
                "quota_invalid",
                400,
            )
        if seats:
            clean[Country(country)] = seats
    if release_at is not None and release_at.tzinfo is None:
        raise RegistrationError(_("Enter a valid release date."), "release_in_past", 400)
    locked = lock_edition(edition.id)
    if sum(clean.values()) > locked.capacity:
        raise RegistrationError(
            _(
                "The country seats add up to %(n)d, more than the capacity of %(cap)d.",
                n=sum(clean.values()),
                cap=locked.capacity,
            ),
            "quotas_over_capacity",
            409,
        )
    if release_at is not None and release_at <= now and release_at != locked.quota_release_at:
        raise RegistrationError(
            _("The release date must be in the future."), "release_in_past", 400
        )
    before = _seats_snapshot(locked)
    existing = {q.country: q for q in locked.seat_quotas}
    for country, quota in existing.items():
        if country not in clean:
            locked.seat_quotas.remove(quota)
    for country, seats in clean.items():
        if country in existing:
            existing[country].seats = seats
        else:
            locked.seat_quotas.append(EditionSeatQuota(country=country, seats=seats))
    locked.quota_release_at = release_at
    locked.nomination_required = nomination_required
    db.session.flush()
    after = _seats_snapshot(locked)
    if after != before:
        audit.record(
            "edition.country_seats_changed",
            target=locked,
            actor=actor,
            edition_id=locked.id,
            summary="Country seats and nominations changed",
            before=before,
            after=after,
        )
    promoted = fill_free_seats(locked, actor, now)
    db.session.commit()
    return promoted


def _seats_snapshot(edition: Edition) -> dict:
    return {
        "quotas": {q.country.value: q.seats for q in edition.seat_quotas if q.seats},
        "quota_release_at": (
            edition.quota_release_at.isoformat() if edition.quota_release_at else None
        ),
        "nomination_required": edition.nomination_required,
    }


@_rolls_back
def release_country_seats(edition: Edition, actor: User) -> list[Registration]:
    """Release the unused country seats to everyone now; promote who fits. Commits."""
    locked = lock_edition(edition.id)
    if not any(q.seats for q in locked.seat_quotas):
        raise RegistrationError(_("This edition has no country seats."), "no_quotas", 409)
    if locked.quotas_released_at is not None:
        raise RegistrationError(
            _("The country seats are already released."), "already_released", 409
        )
    now = utcnow()
    _stamp_release(locked, now, actor, "Country seats released to everyone")
    promoted = fill_free_seats(locked, actor, now)
    db.session.commit()
    return promoted


def release_due_country_seats(now: datetime | None = None) -> dict[str, int]:
    """Release the country seats whose date has passed and promote who fits; for cron.

    Idempotent: a second run finds nothing to release. Returns {edition slug: promoted}.
    """
    now = now or utcnow()
    due_ids = db.session.scalars(
        sa.select(Edition.id)
        .where(
            Edition.quota_release_at <= now,
            Edition.quotas_released_at.is_(None),
            Edition.id.in_(sa.select(EditionSeatQuota.edition_id)),
        )
        .order_by(Edition.id)
    ).all()
    released: dict[str, int] = {}
    for edition_id in due_ids:
        locked = lock_edition(edition_id)
        if _release_if_due(locked, now):  # another run may have done it meanwhile
            released[locked.slug] = len(fill_free_seats(locked, None, now))
        db.session.commit()
    return released


@dataclass
class CountrySeatsRow:
    country: Country
    quota: int | None
    accepted: int
    waiting: int
    pending: int
    nominated: int


def country_seats(edition: Edition) -> list[CountrySeatsRow]:
    """Seats per country: quota, accepted, waiting, pending and nominated (one query)."""
    rows = db.session.execute(
        sa.select(
            User.country,
            Registration.status,
            Registration.nomination == Nomination.NOMINATED,
            sa.func.count(Registration.id),
        )
        .join(Registration.user)
        .where(Registration.edition_id == edition.id, Registration.status.in_(ACTIVE_STATUSES))
        .group_by(User.country, Registration.status, Registration.nomination)
    ).all()
    quotas = {q.country: q.seats for q in edition.seat_quotas}
    counts: dict[Country, Counter] = {}
    for country, status, nominated, n in rows:
        tally = counts.setdefault(country or Country.OTHER, Counter())
        tally[RegistrationStatus(status)] += n
        if nominated:
            tally["nominated"] += n
    return [
        CountrySeatsRow(
            country=country,
            quota=quotas.get(country),
            accepted=counts.get(country, Counter())[RegistrationStatus.ACCEPTED],
            waiting=counts.get(country, Counter())[RegistrationStatus.WAITLISTED],
            pending=counts.get(country, Counter())[RegistrationStatus.PENDING],
            nominated=counts.get(country, Counter())["nominated"],
        )
        for country in QUOTA_COUNTRIES
        if country in quotas or country in counts
    ]


# --- overview and exports -------------------------------------------------------------------


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
        .where(Registration.edition_id == edition.id, Registration.status.in_(ACTIVE_STATUSES))
    ).all()
    module_rows = db.session.execute(
        sa.select(registration_modules.c.edition_module_id, Registration.status)
        .join(Registration, Registration.id == registration_modules.c.registration_id)
        .where(Registration.edition_id == edition.id, Registration.status.in_(ACTIVE_STATUSES))
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


EXPORT_HEADER = [
    "Full name",
    "Email",
    "Country",
    "Institution",
    "Type of organisation",
    "Position",
    "Gender",
    "Status",
    "Waiting-list position",
    "Modules",
    "Motivation",
    "Needs",
    "Registered at (UTC)",
    "Consent at (UTC)",
]


def export_rows(edition: Edition) -> tuple[list[list], bool]:
    """Rows of the export (header first) and whether a Kosovo* footnote is needed."""
    registrations = sorted_people(
        db.session.scalars(registrations_query(edition, RegistrationFilters())).all(),
        name=lambda r: r.user.full_name,
    )
    all_modules = "; ".join(em.module.name for em in edition.edition_modules)
    rows: list[list] = [list(EXPORT_HEADER)]
    kosovo = False
    for r in registrations:
        kosovo |= r.user.country == Country.KOSOVO
        modules = "; ".join(em.module.name for em in r.modules) if edition.module_choice else ""
        rows.append(
            [
                r.user.full_name,
                r.user.email,
                r.user.country.label if r.user.country else "",
                r.user.institution,
                r.user.institution_type_label,
                r.user.position,
                r.user.gender_label,
                r.status.label,
                r.waitlist_position or "",
                modules or all_modules,
                r.motivation,
                r.needs,
                r.created_at.strftime("%Y-%m-%d %H:%M"),
                r.consent_at.strftime("%Y-%m-%d %H:%M"),
            ]
        )
    return rows, kosovo


def export_csv(edition: Edition) -> bytes:
    """CSV in UTF-8 with a byte-order mark, so that spreadsheet programs keep Cyrillic intact."""
    rows, kosovo = export_rows(edition)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(_defuse(rows))
    if kosovo:
        writer.writerow([])
        writer.writerow([str(KOSOVO_FOOTNOTE)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_xlsx(edition: Edition) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    rows, kosovo = export_rows(edition)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Registrations"
    for row in _defuse(rows):
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    widths = (28, 32, 22, 36, 24, 24, 16, 14, 10, 40, 40, 30, 18, 18)
    for column, width in zip("ABCDEFGHIJKLMN", widths, strict=True):
        sheet.column_dimensions[column].width = width
    if kosovo:
        sheet.append([])
        sheet.append([str(KOSOVO_FOOTNOTE)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _defuse(rows: list[list]) -> list[list]:
    return [[spreadsheet_safe(v) for v in row] for row in rows]


def export_filename(edition: Edition, extension: str) -> str:
    return f"registrations-{edition.slug}-{utcnow():%Y%m%d}.{extension}"
