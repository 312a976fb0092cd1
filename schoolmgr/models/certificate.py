"""Certificates of attendance: immutable once issued, verifiable by anyone."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from schoolmgr.extensions import db
from schoolmgr.models.edition import Edition
from schoolmgr.models.registration import Registration
from schoolmgr.models.types import UTCDateTime, enum_type, utcnow
from schoolmgr.models.user import User


class Certificate(db.Model):
    __tablename__ = "certificates"
    __table_args__ = (
        # One current (not superseded) certificate per registration.
        sa.Index(
            "uq_certificates_current_registration",
            "registration_id",
            unique=True,
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        ),
        # The certificates in force, counted per edition (the staff tabs) from the index alone.
        sa.Index(
            "ix_certificates_in_force_edition",
            "edition_id",
            sqlite_where=sa.text("superseded_at IS NULL AND revoked_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL AND revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="RESTRICT"), index=True
    )
    # The registration's edition, copied when the certificate is added (a registration never
    # changes edition): an edition's certificates are counted without joining its registrations.
    edition_id: Mapped[int] = mapped_column(
        sa.ForeignKey("editions.id", ondelete="RESTRICT"), index=True
    )
    serial: Mapped[str] = mapped_column(sa.String(40), unique=True)
    verification_code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Plain values the certificate states (name as printed, modules, hours, dates, signatories).
    snapshot: Mapped[dict] = mapped_column(sa.JSON)
    pdf_name: Mapped[str] = mapped_column(sa.String(100))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    revoke_category: Mapped[str] = mapped_column(sa.String(40), default="")
    revoke_reason: Mapped[str] = mapped_column(sa.Text, default="")
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    superseded_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("certificates.id", ondelete="SET NULL"), index=True
    )

    registration: Mapped[Registration] = relationship()
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    superseded_by: Mapped["Certificate | None"] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"<Certificate {self.serial}>"

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.superseded_at:
            return "superseded"
        return "valid"


@sa.event.listens_for(Certificate, "before_insert")
def _copy_edition(_mapper, connection, certificate: Certificate) -> None:
    """A certificate's edition is its registration's: issuing sets it, and so must bulk inserts;
    this fills it for a certificate made otherwise (tests, the shell)."""
    if certificate.edition_id is None:
        certificate.edition_id = connection.scalar(
            sa.select(Registration.edition_id).where(Registration.id == certificate.registration_id)
        )


class CertificateBatchStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class CertificateBatch(db.Model):
    """Progress of one bulk issuing run of an edition (shown to staff while it runs)."""

    __tablename__ = "certificate_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(
        sa.ForeignKey("editions.id", ondelete="CASCADE"), index=True
    )
    started_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[CertificateBatchStatus] = mapped_column(
        enum_type(CertificateBatchStatus), default=CertificateBatchStatus.QUEUED
    )
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    # [{"registration_id": ..., "name": ..., "reason": ...}]
    failures: Mapped[list] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped with every progress update (the heartbeat): a run that stops moving was interrupted.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # "host:pid" of the process running it, and its RQ job: to tell whether it is still alive.
    worker: Mapped[str] = mapped_column(sa.String(200), default="")
    job_id: Mapped[str | None] = mapped_column(sa.String(64))

    edition: Mapped[Edition] = relationship()
    started_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<CertificateBatch {self.id} {self.done}/{self.total} {self.status}>"

    @property
    def is_running(self) -> bool:
        return self.status in (CertificateBatchStatus.QUEUED, CertificateBatchStatus.RUNNING)

    @property
    def percent(self) -> int:
        if not self.total:
            return 100
        return round(100 * (self.done + self.failed) / self.total)
