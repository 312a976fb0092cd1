"""Nomination rules: what a national coordinator sees, and nominating before staff decide.

A coordinator sees, for editions that require a nomination, only the registrations of people
from the country they coordinate (`User.coordinator_country`, set by staff). Anything else
answers "not found", so ids reveal nothing. A nomination is given while the registration is
pending; staff then accept, waitlist or reject it as usual.
"""

from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from schoolmgr import audit
from schoolmgr.errors import DomainError
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.mail import queue_email
from schoolmgr.models import (
    Edition,
    EditionStatus,
    Nomination,
    Registration,
    RegistrationStatus,
    Role,
    User,
    utcnow,
)
from schoolmgr.registration.seats import lock_edition


class NominationError(DomainError):
    """Codes: edition_not_found, not_found, already_decided, unknown_decision, rank_invalid."""


EMAIL_SUBJECTS = {
    Nomination.NOMINATED: lambda e: _l("You are nominated for %(t)s", t=e.title),
    Nomination.DECLINED: lambda e: _l("Your nomination for %(t)s", t=e.title),
}
EMAIL_TEMPLATES = {
    Nomination.NOMINATED: "registration_nominated",
    Nomination.DECLINED: "registration_not_nominated",
}


def _country_of(coordinator: User):
    if coordinator.role != Role.COORDINATOR or coordinator.coordinator_country is None:
        raise NominationError(_("Registration not found."), "not_found", 404)
    return coordinator.coordinator_country


@dataclass
class EditionToReview:
    edition: Edition
    total: int
    awaiting: int
    nominated: int
    declined: int


def editions_for(coordinator: User) -> list[EditionToReview]:
    """Published editions that require a nomination, with the counts of the coordinator's
    country (two queries)."""
    country = _country_of(coordinator)
    editions = db.session.scalars(
        sa.select(Edition)
        .where(Edition.nomination_required.is_(True), Edition.status == EditionStatus.PUBLISHED)
        .order_by(Edition.start_date.desc(), Edition.id)
    ).all()
    counts: dict[int, Counter] = {e.id: Counter() for e in editions}
    if editions:
        rows = db.session.execute(
            sa.select(Registration.edition_id, Registration.nomination, sa.func.count())
            .join(Registration.user)
            .where(
                Registration.edition_id.in_(counts),
                User.country == country,
                Registration.status != RegistrationStatus.CANCELLED,
            )
            .group_by(Registration.edition_id, Registration.nomination)
        ).all()
        for edition_id, nomination, n in rows:
            counts[edition_id][nomination] += n
    return [
        EditionToReview(
            edition=e,
            total=sum(counts[e.id].values()),
            awaiting=counts[e.id][None],
            nominated=counts[e.id][Nomination.NOMINATED],
            declined=counts[e.id][Nomination.DECLINED],
        )
        for e in editions
    ]


def edition_for(coordinator: User, slug: str) -> Edition:
    """A published edition that requires a nomination (404 otherwise)."""
    _country_of(coordinator)
    edition = db.session.scalar(
        sa.select(Edition).where(
            Edition.slug == slug,
            Edition.nomination_required.is_(True),
            Edition.status == EditionStatus.PUBLISHED,
        )
    )
    if edition is None:
        raise NominationError(_("This edition does not exist."), "edition_not_found", 404)
    return edition


def country_registrations(coordinator: User, edition: Edition) -> list[Registration]:
    """The registrations of the coordinator's country for `edition`, in the coordinator's
    ranking (unranked last, then oldest first); cancelled ones left out."""
    country = _country_of(coordinator)
    return list(
        db.session.scalars(
            sa.select(Registration)
            .join(Registration.user)
            .where(
                Registration.edition_id == edition.id,
                User.country == country,
                Registration.status != RegistrationStatus.CANCELLED,
            )
            .order_by(
                Registration.nomination_rank.is_(None),
                Registration.nomination_rank,
                Registration.created_at,
                Registration.id,
            )
            .options(selectinload(Registration.user))
        )
    )


def registration_for(coordinator: User, registration_id: int) -> Registration:
    """A registration the coordinator may nominate: their country, an edition that requires a
    nomination (404 for anything else)."""
    country = _country_of(coordinator)
    registration = db.session.scalar(
        sa.select(Registration)
        .join(Registration.user)
        .join(Registration.edition)
        .where(
            Registration.id == registration_id,
            User.country == country,
            Edition.nomination_required.is_(True),
            Edition.status == EditionStatus.PUBLISHED,
        )
    )
    if registration is None:
        raise NominationError(_("Registration not found."), "not_found", 404)
    return registration


def nominate(
    coordinator: User,
    registration: Registration,
    decision: Nomination | str,
    rank: int | None = None,
    note: str = "",
) -> Registration:
    """Nominate a pending registration or decline to, with a rank and a note for staff.

    The participant is told by email when the decision changes. Commits.
    """
    try:
        decision = Nomination(decision)
    except ValueError as exc:
        raise NominationError(_("Choose to nominate or not."), "unknown_decision", 400) from exc
    if rank is not None and not 1 <= rank <= 999:
        raise NominationError(_("Enter a rank from 1 to 999."), "rank_invalid", 400)
    # Under the edition lock, as staff decisions are: a decision and a nomination never cross.
    lock_edition(registration.edition_id)
    db.session.refresh(registration)
    if registration.status != RegistrationStatus.PENDING:
        db.session.rollback()  # releases the lock
        raise NominationError(
            _(
                "The programme staff have already decided on %(name)s (%(status)s).",
                name=registration.user.full_name,
                status=registration.status.label,
            ),
            "already_decided",
            409,
        )
    before = _snapshot(registration)
    changed = registration.nomination != decision
    registration.nomination = decision
    registration.nomination_rank = rank
    registration.nomination_note = (note or "").strip()
    registration.nominated_by_id = coordinator.id
    registration.nominated_at = utcnow()
    after = _snapshot(registration)
    if after != before:
        audit.record(
            f"registration.{decision.value}",
            target=registration,
            actor=coordinator,
            edition_id=registration.edition_id,
            summary=f"{registration.user.full_name}: {decision.value} by the national coordinator",
            before=before,
            after=after,
        )
    if changed:
        edition = registration.edition
        queue_email(
            registration.user,
            EMAIL_TEMPLATES[decision],
            EMAIL_SUBJECTS[decision](edition),
            user=registration.user,
            edition=edition,
            registration=registration,
        )
    db.session.commit()
    return registration


def _snapshot(registration: Registration) -> dict:
    # Not the note: it is personal data about the participant, emptied when their account is
    # anonymised, and the audit trail outlives that.
    return {
        "nomination": getattr(registration.nomination, "value", None),
        "nomination_rank": registration.nomination_rank,
    }
