"""Announcements: staff write to an edition's people chosen by filters, with placeholders.

A send creates the announcement and one row per recipient (the audience is frozen then), and
queues each recipient's email through the outbox in the same transaction. Large sends, when
REDIS_URL is set, leave the rendering and queueing to a background job (`jobs.py`) that works in
chunks and can be run again to resume; the page shows its progress.

Long on purpose: one pipeline (placeholders, audience, attachments, send, delivery) kept together.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from schoolmgr.audit import record
from schoolmgr.errors import DomainError, rolls_back
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.i18n import in_language
from schoolmgr.mail import queue_email
from schoolmgr.models import (
    ATTENDED_STATUSES,
    Announcement,
    AnnouncementRecipient,
    AnnouncementStatus,
    Attendance,
    Country,
    Edition,
    EditionModule,
    EmailStatus,
    Material,
    MaterialKind,
    OutboundEmail,
    Registration,
    RegistrationStatus,
    User,
    registration_modules,
    utcnow,
)
from schoolmgr.timeutils import fmt_datetime, fmt_time


class AnnouncementError(DomainError):
    """Codes: unknown_placeholder, no_recipients, count_changed, bad_filter, bad_material,
    attachments_too_large, bad_map_url, bad_key, edition_not_found, not_found, not_in_person,
    not_accepted."""


PLACEHOLDERS = ("first_name", "edition", "my_sessions", "online_link")
AUDIENCE_STATUSES = (
    RegistrationStatus.ACCEPTED,
    RegistrationStatus.WAITLISTED,
    RegistrationStatus.PENDING,
)
ATTENDED_CHOICES = ("", "yes", "no")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
CHUNK = 200


@dataclass
class Audience:
    """Who an announcement is for. Empty values mean "everyone" on that axis."""

    statuses: list[str] = field(default_factory=lambda: [RegistrationStatus.ACCEPTED.value])
    module_id: int | None = None
    country: str = ""
    attended: str = ""  # "yes": attended at least one session; "no": none

    def as_dict(self) -> dict:
        return {
            "statuses": list(self.statuses),
            "module_id": self.module_id,
            "country": self.country,
            "attended": self.attended,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Audience":
        return cls(
            statuses=list(data.get("statuses") or []),
            module_id=data.get("module_id"),
            country=data.get("country") or "",
            attended=data.get("attended") or "",
        )


# --- placeholders -------------------------------------------------------------------------------


def check_placeholders(*texts: str) -> None:
    """Refuse any {name} that is not one of PLACEHOLDERS, naming the ones that are."""
    unknown = []
    for text in texts:
        for name in _PLACEHOLDER.findall(text or ""):
            if name not in PLACEHOLDERS and name not in unknown:
                unknown.append(name)
    if unknown:
        raise AnnouncementError(
            _(
                "Unknown placeholder %(names)s. You can use %(known)s.",
                names=", ".join("{" + name + "}" for name in unknown),
                known=", ".join("{" + name + "}" for name in PLACEHOLDERS),
            ),
            "unknown_placeholder",
        )


def fill(text: str, values: dict[str, str]) -> str:
    """Replace each known {placeholder}; text is never interpreted otherwise (no str.format)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def first_name(user: User) -> str:
    return (user.full_name or "").split(" ", 1)[0]


def sessions_of(registration: Registration) -> list:
    """The sessions a registration covers: its chosen modules, or all when it chose none."""
    edition = registration.edition
    chosen = {em.id for em in registration.modules}
    sessions = []
    for em in edition.edition_modules:
        if edition.module_choice and chosen and em.id not in chosen:
            continue
        sessions.extend((session, em) for session in em.sessions)
    sessions.sort(key=lambda pair: (pair[0].starts_at, pair[0].position, pair[0].id))
    return sessions


def placeholder_values(registration: Registration) -> dict[str, str]:
    edition = registration.edition
    lines = []
    for session, em in sessions_of(registration):
        place = session.room or (edition.venue if edition.format.value != "online" else "")
        tz = edition.tz
        line = f"- {fmt_datetime(session.starts_at, tz)}–{fmt_time(session.ends_at, tz)}"
        line += f" {em.module.name}"
        lines.append(line + (f" ({place})" if place else ""))
    accepted = registration.status == RegistrationStatus.ACCEPTED
    # The meeting link is for accepted participants only; others see why it is missing.
    online_link = edition.online_url if accepted else ""
    if not online_link and edition.online_url:
        online_link = _("(the meeting link is sent to accepted participants)")
    return {
        "first_name": first_name(registration.user),
        "edition": edition.title,
        "my_sessions": "\n".join(lines) or _("(no sessions scheduled yet)"),
        "online_link": online_link,
    }


# --- the audience -------------------------------------------------------------------------------


def check_audience(edition: Edition, audience: Audience) -> None:
    allowed = {s.value for s in AUDIENCE_STATUSES}
    if not audience.statuses or any(s not in allowed for s in audience.statuses):
        raise AnnouncementError(_("Choose at least one registration status."), "bad_filter", 400)
    if audience.module_id is not None and audience.module_id not in {
        em.id for em in edition.edition_modules
    }:
        raise AnnouncementError(_("Choose one of the edition's modules."), "bad_filter", 400)
    if audience.country and audience.country not in {c.value for c in Country}:
        raise AnnouncementError(_("Choose one of the listed countries."), "bad_filter", 400)
    if audience.attended not in ATTENDED_CHOICES:
        raise AnnouncementError(_("Choose whether they attended."), "bad_filter", 400)


def audience_query(edition: Edition, audience: Audience) -> sa.Select:
    """Registrations of the edition matching the audience, by name."""
    statement = (
        sa.select(Registration)
        .join(Registration.user)
        .where(
            Registration.edition_id == edition.id,
            Registration.status.in_([RegistrationStatus(s) for s in audience.statuses]),
            User.active.is_(True),
            User.anonymised_at.is_(None),
        )
    )
    if audience.module_id is not None:
        chose = sa.select(registration_modules.c.registration_id).where(
            registration_modules.c.edition_module_id == audience.module_id
        )
        if edition.module_choice:
            statement = statement.where(Registration.id.in_(chose))
    if audience.country:
        statement = statement.where(User.country == Country(audience.country))
    if audience.attended:
        attended = (
            sa.select(Attendance.id)
            .where(
                Attendance.registration_id == Registration.id,
                Attendance.status.in_(ATTENDED_STATUSES),
            )
            .exists()
        )
        statement = statement.where(attended if audience.attended == "yes" else ~attended)
    return statement.order_by(User.name_order(), Registration.id)


def audience_registrations(edition: Edition, audience: Audience) -> list[Registration]:
    check_audience(edition, audience)
    return list(
        db.session.scalars(
            audience_query(edition, audience).options(
                selectinload(Registration.user),
                selectinload(Registration.modules),
            )
        )
    )


def _load_for_rendering(edition: Edition) -> None:
    """Sessions and modules of the edition, once, for {my_sessions}."""
    db.session.scalars(
        sa.select(EditionModule)
        .where(EditionModule.edition_id == edition.id)
        .options(selectinload(EditionModule.sessions), selectinload(EditionModule.module))
    ).all()


# --- attachments --------------------------------------------------------------------------------


def attachable_materials(edition: Edition) -> list[Material]:
    """Current uploaded files of the edition's modules."""
    return list(
        db.session.scalars(
            sa.select(Material)
            .join(Material.edition_module)
            .where(
                EditionModule.edition_id == edition.id,
                Material.kind == MaterialKind.FILE,
                Material.deleted_at.is_(None),
                Material.replaced_by_id.is_(None),
            )
            .order_by(EditionModule.position, Material.position, Material.title)
        )
    )


def _check_materials(edition: Edition, material_ids: list[int]) -> list[Material]:
    available = {m.id: m for m in attachable_materials(edition)}
    if any(mid not in available for mid in material_ids):
        raise AnnouncementError(
            _("Attach only current files of this edition's materials."), "bad_material", 400
        )
    chosen = [available[mid] for mid in dict.fromkeys(material_ids)]
    limit_mb = current_app.config.get("ANNOUNCEMENT_ATTACHMENTS_MAX_MB", 10)
    if sum(m.size for m in chosen) > limit_mb * 1024 * 1024:
        raise AnnouncementError(
            _(
                "Attachments may add up to %(n)d MB; link to larger materials instead.",
                n=limit_mb,
            ),
            "attachments_too_large",
            400,
        )
    return chosen


# --- preview and send ---------------------------------------------------------------------------


@dataclass
class Preview:
    count: int
    registrations: list[Registration]
    chosen: Registration | None
    subject: str
    body: str


@rolls_back
def preview(
    edition: Edition, subject: str, body: str, audience: Audience, registration_id: int | None
) -> Preview:
    """The recipient count and the message as one chosen recipient would read it."""
    check_placeholders(subject, body)
    registrations = audience_registrations(edition, audience)
    chosen = next((r for r in registrations if r.id == registration_id), None)
    chosen = chosen or (registrations[0] if registrations else None)
    if chosen is None:
        return Preview(0, [], None, subject, body)
    _load_for_rendering(edition)
    values = placeholder_values(chosen)
    return Preview(
        len(registrations), registrations, chosen, fill(subject, values), fill(body, values)
    )


def announcement_for_key(key: str) -> Announcement | None:
    return db.session.scalar(sa.select(Announcement).where(Announcement.idempotency_key == key))


@rolls_back
def send(
    edition: Edition,
    sender: User,
    *,
    subject: str,
    body: str,
    audience: Audience,
    material_ids: list[int],
    idempotency_key: str,
    expected_count: int | None = None,
) -> tuple[Announcement, bool]:
    """Send an announcement once per form: returns (announcement, created now?).

    A repeated submission of the same form (double click, reload) finds the announcement by its
    key and sends nothing again.
    """
    existing = announcement_for_key(idempotency_key)
    if existing is not None:
        if existing.edition_id != edition.id:  # a key copied from another edition's form
            raise AnnouncementError(_("Open a new announcement form."), "bad_key", 400)
        return existing, False
    check_placeholders(subject, body)
    registrations = audience_registrations(edition, audience)
    if not registrations:
        raise AnnouncementError(
            _("Nobody matches these filters: the announcement was not sent."), "no_recipients"
        )
    if expected_count is not None and expected_count != len(registrations):
        raise AnnouncementError(
            _(
                "The recipients changed since the preview: it is now %(n)d people. Check the "
                "preview again, then send.",
                n=len(registrations),
            ),
            "count_changed",
            409,
        )
    materials = _check_materials(edition, material_ids)
    announcement = Announcement(
        edition=edition,
        sender=sender,
        subject=subject.strip(),
        body=body,
        filters=audience.as_dict(),
        idempotency_key=idempotency_key,
        recipient_count=len(registrations),
        materials=materials,
    )
    db.session.add(announcement)
    try:
        db.session.flush()
    except IntegrityError:  # the same form, submitted at the same moment by another request
        db.session.rollback()
        existing = announcement_for_key(idempotency_key)
        if existing is None:
            raise
        return existing, False
    db.session.add_all(
        AnnouncementRecipient(
            announcement=announcement,
            user_id=r.user_id,
            opted_out=not r.user.wants_announcements,
        )
        for r in registrations
    )
    record(
        "announcement.sent",
        target=announcement,
        edition_id=edition.id,
        summary=f"{announcement.subject} ({len(registrations)} recipients)",
        after=audience.as_dict(),
    )
    background = (
        current_app.config.get("REDIS_URL")
        and len(registrations) > current_app.config["ANNOUNCEMENT_INLINE_LIMIT"]
    )
    if not background:
        process(announcement, limit=None)
    db.session.commit()
    return announcement, True


def process(announcement: Announcement, limit: int | None = CHUNK) -> int:
    """Render and queue the emails of up to `limit` recipients not yet handled (caller commits).

    Returns how many were handled; the announcement is marked sent when none are left.
    """
    statement = (
        sa.select(AnnouncementRecipient)
        .where(
            AnnouncementRecipient.announcement_id == announcement.id,
            AnnouncementRecipient.body_text == "",
            AnnouncementRecipient.email_id.is_(None),
        )
        .order_by(AnnouncementRecipient.id)
        .options(selectinload(AnnouncementRecipient.user))
    )
    if limit:
        statement = statement.limit(limit)
    rows = db.session.scalars(statement).all()
    edition = announcement.edition
    _load_for_rendering(edition)
    registrations = {
        r.user_id: r
        for r in db.session.scalars(
            sa.select(Registration)
            .where(
                Registration.edition_id == edition.id,
                Registration.user_id.in_([row.user_id for row in rows]),
            )
            .options(selectinload(Registration.modules), selectinload(Registration.user))
        )
    }
    material_ids = [m.id for m in announcement.materials]
    announcement.status = AnnouncementStatus.SENDING
    for row in rows:
        registration = registrations.get(row.user_id)
        with in_language(row.user.preferred_language):  # dates and notes in the reader's words
            values = (
                placeholder_values(registration)
                if registration is not None
                else {"first_name": first_name(row.user), "edition": edition.title}
            )
        row.subject = fill(announcement.subject, values)[:300]
        row.body_text = fill(announcement.body, values) or " "
        if not row.opted_out:
            row.email = queue_email(
                row.user,
                "announcement",
                row.subject,
                material_ids=material_ids,
                user=row.user,
                edition=edition,
                message=row.body_text,
            )
    announcement.queued_count += len(rows)
    if limit is None or len(rows) < limit:
        announcement.status = AnnouncementStatus.SENT
        announcement.queued_count = announcement.recipient_count
        announcement.finished_at = utcnow()
    return len(rows)


# --- what staff and participants see ------------------------------------------------------------


def edition_announcements(edition: Edition) -> sa.Select:
    return (
        sa.select(Announcement)
        .where(Announcement.edition_id == edition.id)
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
        .options(selectinload(Announcement.sender))
    )


def get_announcement(edition: Edition, announcement_id: int) -> Announcement:
    announcement = db.session.get(Announcement, announcement_id)
    if announcement is None or announcement.edition_id != edition.id:
        raise AnnouncementError(_("No such announcement."), "not_found", 404)
    return announcement


def recipients_query(announcement: Announcement) -> sa.Select:
    """Recipients with their email's delivery status; failures first."""
    failed_first = sa.case((OutboundEmail.status == EmailStatus.FAILED, 0), else_=1)
    return (
        sa.select(AnnouncementRecipient)
        .join(AnnouncementRecipient.user)
        .outerjoin(AnnouncementRecipient.email)
        .where(AnnouncementRecipient.announcement_id == announcement.id)
        .order_by(failed_first, User.full_name, AnnouncementRecipient.id)
        .options(
            selectinload(AnnouncementRecipient.user), selectinload(AnnouncementRecipient.email)
        )
    )


def delivery_counts(announcement: Announcement) -> dict[str, int]:
    """How many recipients' emails are sent, pending, failed; and how many opted out."""
    rows = db.session.execute(
        sa.select(OutboundEmail.status, sa.func.count())
        .join(AnnouncementRecipient, AnnouncementRecipient.email_id == OutboundEmail.id)
        .where(AnnouncementRecipient.announcement_id == announcement.id)
        .group_by(OutboundEmail.status)
    ).all()
    counts = {"sent": 0, "pending": 0, "failed": 0}
    counts.update({status.value: n for status, n in rows})
    counts["opted_out"] = db.session.scalar(
        sa.select(sa.func.count()).where(
            AnnouncementRecipient.announcement_id == announcement.id,
            AnnouncementRecipient.opted_out.is_(True),
        )
    )
    return counts


def describe_audience(edition: Edition, filters: dict) -> str:
    """The filters in words, e.g. "Accepted, Waiting list · Module: Agile · Serbia · attended"."""
    audience = Audience.from_dict(filters)
    parts = [
        ", ".join(RegistrationStatus(s).label for s in audience.statuses if s in _status_values())
    ]
    modules = {em.id: em.module.name for em in edition.edition_modules}
    if audience.module_id in modules:
        parts.append(_("module %(name)s", name=modules[audience.module_id]))
    if audience.country in {c.value for c in Country}:
        parts.append(Country(audience.country).label)
    if audience.attended == "yes":
        parts.append(_("attended"))
    elif audience.attended == "no":
        parts.append(_("did not attend"))
    return " · ".join(p for p in parts if p)


def _status_values() -> set[str]:
    return {s.value for s in RegistrationStatus}


def for_participant(user: User, limit: int = 50) -> dict[int, list[tuple[datetime, str, str]]]:
    """Announcements the user received, per edition id: (date, subject, their message)."""
    rows = db.session.execute(
        sa.select(
            Announcement.edition_id,
            Announcement.created_at,
            AnnouncementRecipient.subject,
            AnnouncementRecipient.body_text,
        )
        .join(AnnouncementRecipient.announcement)
        .where(AnnouncementRecipient.user_id == user.id, AnnouncementRecipient.body_text != "")
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
        .limit(limit)
    ).all()
    by_edition: dict[int, list[tuple[datetime, str, str]]] = {}
    for edition_id, created_at, subject, body in rows:
        by_edition.setdefault(edition_id, []).append((created_at, subject, body))
    return by_edition
