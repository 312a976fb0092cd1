"""Outgoing email, stored with the change that causes it so that no message is lost."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from schoolmgr.extensions import db
from schoolmgr.models.types import UTCDateTime, enum_type, utcnow


class EmailStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after MAIL_MAX_ATTEMPTS


class OutboundEmail(db.Model):
    __tablename__ = "outbound_emails"
    __table_args__ = (sa.Index("ix_outbound_emails_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(254), index=True)
    subject: Mapped[str] = mapped_column(sa.String(300))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    # Template name, for tests and the log ("registration_accepted").
    template: Mapped[str] = mapped_column(sa.String(80), default="", index=True)
    status: Mapped[EmailStatus] = mapped_column(enum_type(EmailStatus), default=EmailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    attachments: Mapped[list["EmailAttachment"]] = relationship(  # noqa: F821
        cascade="all, delete-orphan", passive_deletes=True, order_by="EmailAttachment.id"
    )

    def __repr__(self) -> str:
        return f"<OutboundEmail {self.id} to={self.recipient} {self.status}>"
