"""Announcements to an edition's people, session reminders sent, and invitation letters."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from schoolmgr.extensions import db
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models.edition import Edition, Session
from schoolmgr.models.email import OutboundEmail
from schoolmgr.models.registration import Registration
from schoolmgr.models.types import UTCDateTime, enum_type, utcnow
from schoolmgr.models.user import User


class AnnouncementStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for the background worker
    SENDING = "sending"
    SENT = "sent"  # every message is in the outbox
    FAILED = "failed"  # the job stopped; running it again resumes

    @property
    def label(self) -> str:
        return str(ANNOUNCEMENT_STATUS_LABELS[self])


ANNOUNCEMENT_STATUS_LABELS = {
    AnnouncementStatus.QUEUED: _l("Queued"),
    AnnouncementStatus.SENDING: _l("Sending"),
    AnnouncementStatus.SENT: _l("Sent"),
    AnnouncementStatus.FAILED: _l("Stopped"),
}


announcement_materials = sa.Table(
    "announcement_materials",
    db.metadata,
    sa.Column(
        "announcement_id", sa.ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("material_id", sa.ForeignKey("materials.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_announcement_materials_material_id", "material_id"),
)


class Announcement(db.Model):
    """A message staff sent to the people of an edition chosen by filters."""

    __tablename__ = "announcements"
    __table_args__ = (
        sa.CheckConstraint("recipient_count >= 0", name="recipient_count_not_negative"),
        sa.CheckConstraint("queued_count >= 0", name="queued_count_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(
        sa.ForeignKey("editions.id", ondelete="CASCADE"), index=True
    )
    sender_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    # {"statuses": [...], "module_id": 3, "country": "RS", "attended": "yes"|"no"|""}
    filters: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # A random key from the form: a second submission of the same form sends nothing again.
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[AnnouncementStatus] = mapped_column(
        enum_type(AnnouncementStatus), default=AnnouncementStatus.QUEUED
    )
    recipient_count: Mapped[int] = mapped_column(default=0)
    queued_count: Mapped[int] = mapped_column(default=0)  # recipients handled so far
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    edition: Mapped[Edition] = relationship()
    sender: Mapped[User | None] = relationship()
    materials: Mapped[list["Material"]] = relationship(  # noqa: F821
        secondary=announcement_materials, order_by="Material.title"
    )

    @property
    def percent(self) -> int:
        if not self.recipient_count:
            return 100
        return min(100, round(100 * self.queued_count / self.recipient_count))

    @property
    def is_running(self) -> bool:
        return self.status in (AnnouncementStatus.QUEUED, AnnouncementStatus.SENDING)


class AnnouncementRecipient(db.Model):
    """One person an announcement was for: the message as rendered for them, and its email."""

    __tablename__ = "announcement_recipients"
    __table_args__ = (sa.UniqueConstraint("announcement_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        sa.ForeignKey("announcements.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The subject and message as rendered for this person; empty until handled.
    subject: Mapped[str] = mapped_column(sa.String(300), default="")
    body_text: Mapped[str] = mapped_column(sa.Text, default="")
    # Empty until queued; stays empty for people who opted out of announcements.
    email_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("outbound_emails.id", ondelete="SET NULL"), index=True
    )
    opted_out: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    announcement: Mapped[Announcement] = relationship()
    user: Mapped[User] = relationship()
    email: Mapped[OutboundEmail | None] = relationship()


class ReminderKind(enum.StrEnum):
    DAY_BEFORE = "day_before"  # in-person sessions
    HOUR_BEFORE = "hour_before"  # online sessions


class SessionReminder(db.Model):
    """A reminder sent: one per session, person, kind and start time (a moved session gets a new
    one; running the command again finds the row and sends nothing)."""

    __tablename__ = "session_reminders"
    __table_args__ = (sa.UniqueConstraint("session_id", "user_id", "kind", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReminderKind] = mapped_column(enum_type(ReminderKind))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    email_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("outbound_emails.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    session: Mapped[Session] = relationship()
    email: Mapped[OutboundEmail | None] = relationship()


class EmailAttachment(db.Model):
    """A file sent with a queued email: bytes of its own (a calendar) or a stored material."""

    __tablename__ = "email_attachments"
    __table_args__ = (
        sa.CheckConstraint(
            "content IS NOT NULL OR material_id IS NOT NULL", name="content_or_material"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email_id: Mapped[int] = mapped_column(
        sa.ForeignKey("outbound_emails.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(255))
    media_type: Mapped[str] = mapped_column(sa.String(150))
    content: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    material_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("materials.id", ondelete="CASCADE"), index=True
    )

    material: Mapped["Material | None"] = relationship()  # noqa: F821


class InvitationLetter(db.Model):
    """An official invitation letter for an accepted participant of an in-person edition.

    What the letter says is frozen in `snapshot` when it is first issued, so the PDF and the
    verification page keep saying the same thing.
    """

    __tablename__ = "invitation_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE"), unique=True
    )
    verification_code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    snapshot: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    registration: Mapped[Registration] = relationship()
