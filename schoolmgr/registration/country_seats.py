"""Country seats: reserving part of the capacity per country, releasing it, and the tally.

Who may take which seat is decided in one place, `seats.SeatBook`.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from schoolmgr import audit
from schoolmgr.errors import rolls_back
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    Country,
    Edition,
    EditionSeatQuota,
    Nomination,
    Registration,
    RegistrationStatus,
    User,
    utcnow,
)
from schoolmgr.registration.errors import RegistrationError
from schoolmgr.registration.seats import (
    fill_free_seats,
    lock_edition,
    release_if_due,
    stamp_release,
)

QUOTA_COUNTRIES = tuple(Country)


@rolls_back
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


@rolls_back
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
    stamp_release(locked, now, actor, "Country seats released to everyone")
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
        if release_if_due(locked, now):  # another run may have done it meanwhile
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
        .where(Registration.edition_id == edition.id, Registration.is_active)
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
