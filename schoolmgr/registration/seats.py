"""Seats and the waiting list: the one rule for who takes a free seat (`fill_free_seats`).

Every decision that depends on how many seats are taken runs while the edition row is locked
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite serialises writers anyway), so capacity is never
exceeded and waiting-list positions stay 1..N without gaps or duplicates, also under concurrency.

An edition may reserve part of its capacity per country (EditionSeatQuota). `SeatBook` is the one
rule for who may take a free seat: while quotas bind, a person takes a seat of their country's
quota or of the seats given to no country; once the quotas are released (by staff, or their
release date has passed), the capacity is shared by all again. There is one waiting list, in
order; promotion takes the first people on it who may take a free seat.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from schoolmgr import audit
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    Country,
    Edition,
    Registration,
    RegistrationStatus,
    User,
    utcnow,
)
from schoolmgr.registration.emails import notify
from schoolmgr.registration.errors import RegistrationError


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


def release_if_due(edition: Edition, now: datetime, actor: User | None = None) -> bool:
    """Stamp the release of the country seats when their date has passed; True if it did."""
    due = edition.quota_release_at is not None and now >= edition.quota_release_at
    if edition.quotas_released_at is not None or not due or not edition.seat_quotas:
        return False
    stamp_release(edition, now, actor, "Country seats released to everyone (release date reached)")
    return True


def stamp_release(edition: Edition, now: datetime, actor: User | None, summary: str) -> None:
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


def renumber_waitlist(edition_id: int) -> list[Registration]:
    """Give the waiting list positions 1..N in its current order; return it."""
    db.session.flush()
    waiting = _waitlist(edition_id)
    for position, registration in enumerate(waiting, start=1):
        registration.waitlist_position = position
    return waiting


def reload_registration(registration: Registration) -> Registration:
    """Re-read a registration after taking the lock: another request may have changed it."""
    return db.session.scalar(
        sa.select(Registration)
        .where(Registration.id == registration.id)
        .execution_options(populate_existing=True)
    )


def snapshot(registration: Registration) -> dict:
    return {
        "status": registration.status.value,
        "waitlist_position": registration.waitlist_position,
    }


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
    release_if_due(locked, now, actor)
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
        before = snapshot(registration)
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
            after=snapshot(registration),
        )
        notify("registration_promoted", registration, locked)
    if promoted:
        renumber_waitlist(locked.id)
    return promoted
