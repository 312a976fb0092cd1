"""Personal data: export everything held about a person, anonymise on request or after retention.

What holds personal data, and what anonymising does to it:
- users: name, email, institution and its type, position, country, gender, language, password,
  tokens -> replaced by neutral values; the account is deactivated and every session ends.
- registrations: motivation, needs and the coordinator's nomination note -> emptied (status
  and dates stay, for the statistics).
- attendances: free-text comments -> emptied (statuses stay, for the certificates' records).
- outbound_emails to the person: recipient and bodies replaced; unsent ones are not sent.
- audit_events about the person: their name and email are blanked in the text; the events stay.
- announcement_recipients: the subject and message as rendered for the person -> replaced.
- invitation_letters: deleted (they name the person, position and institution; a letter checked
  afterwards is reported as unknown).
- certificates: unchanged on purpose. The snapshot holds the name as printed, so anyone holding
  the document can still verify it; the name is not linked to any account any more.
"""

import json
import logging
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from schoolmgr import audit
from schoolmgr.auth.sessions import end_all_sessions
from schoolmgr.errors import DomainError
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    Announcement,
    AnnouncementRecipient,
    Attendance,
    AuditEvent,
    Certificate,
    Edition,
    EditionModule,
    EmailStatus,
    InvitationLetter,
    OutboundEmail,
    Registration,
    Role,
    Session,
    User,
    utcnow,
)
from schoolmgr.models.types import random_token

log = logging.getLogger(__name__)

ANONYMISED_NAME = "Anonymised participant"
REDACTED = "[anonymised]"


class PrivacyError(DomainError):
    """Codes: not_a_participant, wrong_password, active_registrations, already_anonymised."""


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def export_personal_data(user: User) -> dict:
    """Everything the app holds about `user`, as plain JSON-ready values (fixed query count)."""
    registrations = db.session.scalars(
        sa.select(Registration)
        .where(Registration.user_id == user.id)
        .options(
            selectinload(Registration.edition),
            selectinload(Registration.modules).selectinload(EditionModule.module),
        )
        .order_by(Registration.created_at)
    ).all()
    registration_ids = [r.id for r in registrations]
    attendances = db.session.scalars(
        sa.select(Attendance)
        .where(Attendance.registration_id.in_(registration_ids))
        .options(
            selectinload(Attendance.session)
            .selectinload(Session.edition_module)
            .selectinload(EditionModule.module)
        )
        .order_by(Attendance.registration_id, Attendance.id)
    ).all()
    certificates = db.session.scalars(
        sa.select(Certificate)
        .where(Certificate.registration_id.in_(registration_ids))
        .order_by(Certificate.issued_at)
    ).all()
    emails = db.session.scalars(
        sa.select(OutboundEmail)
        .where(OutboundEmail.recipient == user.email)
        .order_by(OutboundEmail.created_at)
    ).all()
    received = db.session.execute(
        sa.select(Announcement.created_at, AnnouncementRecipient)
        .join(AnnouncementRecipient.announcement)
        .where(AnnouncementRecipient.user_id == user.id)
        .order_by(Announcement.created_at, Announcement.id)
    ).all()
    letters = db.session.scalars(
        sa.select(InvitationLetter)
        .where(InvitationLetter.registration_id.in_(registration_ids))
        .order_by(InvitationLetter.id)
    ).all()
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(_about(user.id, registration_ids))
        .order_by(AuditEvent.created_at, AuditEvent.id)
    ).all()
    attendance_by_registration: dict[int, list[dict]] = {}
    for mark in attendances:
        attendance_by_registration.setdefault(mark.registration_id, []).append(
            {
                "session": mark.session.title or mark.session.edition_module.module.name,
                "module": mark.session.edition_module.module.name,
                "starts_at": _iso(mark.session.starts_at),
                "status": mark.status.value,
                "method": mark.method.value,
                "comment": mark.comment,
                "recorded_at": _iso(mark.recorded_at),
            }
        )
    return {
        "exported_at": _iso(utcnow()),
        "account": {
            "email": user.email,
            "full_name": user.full_name,
            "role": user.role.value,
            "country": user.country.value if user.country else None,
            "institution": user.institution,
            "institution_type": user.institution_type.value if user.institution_type else None,
            "position": user.position,
            "gender": user.gender.value if user.gender else None,
            "preferred_language": user.preferred_language,
            "wants_announcements": user.wants_announcements,
            "active": user.active,
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
        },
        "registrations": [
            {
                "edition": r.edition.title,
                "edition_slug": r.edition.slug,
                "edition_dates": [_iso(r.edition.start_date), _iso(r.edition.end_date)],
                "status": r.status.value,
                "waitlist_position": r.waitlist_position,
                "motivation": r.motivation,
                "needs": r.needs,
                "nomination": r.nomination.value if r.nomination else None,
                "nomination_note": r.nomination_note,
                "modules": [m.module.name for m in r.modules],
                "consent_at": _iso(r.consent_at),
                "registered_at": _iso(r.created_at),
                "decided_at": _iso(r.decided_at),
                "cancelled_at": _iso(r.cancelled_at),
                "certificate_override": (
                    r.certificate_override.value if r.certificate_override else None
                ),
                "certificate_override_reason": r.certificate_override_reason,
                "attendance": attendance_by_registration.get(r.id, []),
            }
            for r in registrations
        ],
        "certificates": [
            {
                "serial": c.serial,
                "verification_code": c.verification_code,
                "issued_at": _iso(c.issued_at),
                "status": c.status,
                "as_printed": c.snapshot,
            }
            for c in certificates
        ],
        "emails": [
            {
                "subject": e.subject,
                "template": e.template,
                "status": e.status.value,
                "created_at": _iso(e.created_at),
                "sent_at": _iso(e.sent_at),
            }
            for e in emails
        ],
        "announcements": [
            {
                "sent_at": _iso(sent_at),
                "subject": r.subject,
                "message": r.body_text,
                "emailed": not r.opted_out,
            }
            for sent_at, r in received
        ],
        "invitation_letters": [
            {
                "verification_code": letter.verification_code,
                "issued_at": _iso(letter.issued_at),
                "as_printed": letter.snapshot,
            }
            for letter in letters
        ],
        "records_about_you": [
            {"action": e.action, "at": _iso(e.created_at), "summary": e.summary} for e in events
        ],
    }


def blocking_registrations(user: User, today: date) -> list[Registration]:
    """Active registrations for editions that have not ended: cancel them before deleting."""
    return list(
        db.session.scalars(
            sa.select(Registration)
            .join(Edition, Edition.id == Registration.edition_id)
            .where(
                Registration.user_id == user.id,
                Registration.is_active,
                Edition.end_date >= today,
            )
            .options(selectinload(Registration.edition))
        )
    )


def delete_own_account(user: User, password: str, today: date) -> None:
    """A participant's request to delete their account: check, then anonymise and commit."""
    if user.role != Role.PARTICIPANT:
        raise PrivacyError(
            _("Staff and trainer accounts are closed by an administrator. Please contact them."),
            "not_a_participant",
            403,
        )
    if not user.check_password(password or ""):
        raise PrivacyError(_("The password is not correct."), "wrong_password", 400)
    if blocking_registrations(user, today):
        raise PrivacyError(
            _(
                "You are registered for an edition that has not ended yet. Cancel that "
                "registration first, then delete your account."
            ),
            "active_registrations",
            409,
        )
    audit.record(
        "user.anonymised",
        target=user,
        actor=user,
        summary="Account deleted at the participant's request; personal data anonymised.",
    )
    anonymise_user(user)
    db.session.commit()
    log.info("User %s anonymised at their own request", user.id)


def anonymise_user(user: User) -> None:
    """Replace `user`'s personal data everywhere; the caller records the audit and commits."""
    if user.anonymised_at is not None:
        raise PrivacyError(_("This account is already anonymised."), "already_anonymised", 409)
    old_texts = [t for t in (user.full_name, user.email) if t and len(t) >= 3]
    old_email = user.email
    now = utcnow()

    registration_ids = list(
        db.session.scalars(sa.select(Registration.id).where(Registration.user_id == user.id))
    )
    if registration_ids:
        db.session.execute(
            sa.update(Registration)
            .where(Registration.id.in_(registration_ids))
            .values(motivation="", needs="", nomination_note="")
        )
        db.session.execute(
            sa.update(Attendance)
            .where(Attendance.registration_id.in_(registration_ids))
            .values(comment="")
        )
        db.session.execute(
            sa.delete(InvitationLetter).where(
                InvitationLetter.registration_id.in_(registration_ids)
            )
        )
    db.session.execute(
        sa.update(AnnouncementRecipient)
        .where(AnnouncementRecipient.user_id == user.id)
        .values(subject=REDACTED, body_text=REDACTED)
    )
    anonymous_email = f"anonymised-{user.id}@invalid"
    db.session.execute(
        sa.update(OutboundEmail)
        .where(OutboundEmail.recipient == old_email)
        .values(recipient=anonymous_email, subject=REDACTED, body_text="", body_html="")
    )
    db.session.execute(
        sa.update(OutboundEmail)
        .where(
            OutboundEmail.recipient == anonymous_email,
            OutboundEmail.status == EmailStatus.PENDING,
        )
        .values(status=EmailStatus.FAILED, last_error="recipient anonymised")
    )
    _redact_audit_events(user.id, registration_ids, old_texts)

    user.full_name = ANONYMISED_NAME
    user.email = anonymous_email
    user.institution = ""
    user.institution_type = None
    user.position = ""
    user.gender = None
    user.country = None
    user.preferred_language = "en"
    user.password_hash = None
    user.active = False
    end_all_sessions(user)
    user.calendar_token = random_token()
    user.last_login_at = None
    user.anonymised_at = now


def _redact(value, texts: list[str]):
    if value is None or not texts:
        return value
    if isinstance(value, str):
        for text in texts:
            value = value.replace(text, REDACTED)
        return value
    dumped = json.dumps(value, ensure_ascii=False)
    redacted = _redact(dumped, [json.dumps(t, ensure_ascii=False)[1:-1] for t in texts])
    return value if redacted == dumped else json.loads(redacted)


def _about(user_id: int, registration_ids: list[int]):
    """Audit events whose target is the person or one of their registrations."""
    return sa.or_(
        sa.and_(AuditEvent.target_type == "user", AuditEvent.target_id == user_id),
        sa.and_(
            AuditEvent.target_type == "registration",
            AuditEvent.target_id.in_(registration_ids or [-1]),
        ),
    )


def _redact_audit_events(user_id: int, registration_ids: list[int], texts: list[str]) -> None:
    """Blank the person's name and email in audit events about them; the events themselves stay."""
    for event in db.session.scalars(sa.select(AuditEvent).where(_about(user_id, registration_ids))):
        event.summary = _redact(event.summary, texts)
        event.reason = _redact(event.reason, texts)
        event.before = _redact(event.before, texts)
        event.after = _redact(event.after, texts)


def retention_cutoff(today: date, years: int) -> date:
    """The day `years` years before `today` (29 February falls back to the 28th)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def expired_participants(today: date, years: int) -> list[User]:
    """Participants whose every edition ended before the retention cutoff, idle since then."""
    cutoff = retention_cutoff(today, years)
    latest_end = (
        sa.select(sa.func.max(Edition.end_date))
        .join(Registration, Registration.edition_id == Edition.id)
        .where(Registration.user_id == User.id)
        .scalar_subquery()
    )
    cutoff_start = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=UTC)
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.role == Role.PARTICIPANT,
                User.anonymised_at.is_(None),
                latest_end < cutoff,
                sa.or_(User.last_login_at.is_(None), User.last_login_at < cutoff_start),
            )
            .order_by(User.id)
        )
    )


def anonymise_expired(today: date, years: int, *, dry_run: bool = False) -> list[int]:
    """Anonymise participants past the retention period; returns their ids. Commits per user."""
    users = expired_participants(today, years)
    ids = [u.id for u in users]
    if dry_run:
        return ids
    for user in users:
        audit.record(
            "user.anonymised",
            target=user,
            summary=f"Personal data anonymised after the retention period of {years} years.",
            reason="retention",
        )
        anonymise_user(user)
        db.session.commit()
    if ids:
        log.info("Anonymised %d participants past the retention period", len(ids))
    return ids
