"""A person's registration for an edition."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from schoolmgr.extensions import db
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models.edition import Edition, EditionModule
from schoolmgr.models.types import UTCDateTime, enum_type, utcnow
from schoolmgr.models.user import User


class RegistrationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    WAITLISTED = "waitlisted"
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return str(REGISTRATION_STATUS_LABELS[self])


REGISTRATION_STATUS_LABELS = {
    RegistrationStatus.PENDING: _l("Pending review"),
    RegistrationStatus.ACCEPTED: _l("Accepted"),
    RegistrationStatus.WAITLISTED: _l("Waiting list"),
    RegistrationStatus.REJECTED: _l("Not accepted"),
    RegistrationStatus.CANCELLED: _l("Cancelled"),
}


# A registration still in play: it holds, awaits or may yet get a seat.
ACTIVE_STATUSES = (
    RegistrationStatus.PENDING,
    RegistrationStatus.ACCEPTED,
    RegistrationStatus.WAITLISTED,
)


REVIEW_RANK_SQL = (
    "CASE status WHEN 'pending' THEN 0 WHEN 'accepted' THEN 1 WHEN 'waitlisted' THEN 2 ELSE 3 END"
)


class Nomination(enum.StrEnum):
    """The national coordinator's word on a registration, before staff decide."""

    NOMINATED = "nominated"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        return str(NOMINATION_LABELS[self])


NOMINATION_LABELS = {
    Nomination.NOMINATED: _l("Nominated"),
    Nomination.DECLINED: _l("Not nominated"),
}


class CertificateOverride(enum.StrEnum):
    """Staff decision that overrides the computed certificate eligibility."""

    GRANTED = "granted"
    EXCLUDED = "excluded"


registration_modules = sa.Table(
    "registration_modules",
    db.metadata,
    sa.Column(
        "registration_id", sa.ForeignKey("registrations.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "edition_module_id",
        sa.ForeignKey("edition_modules.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Index("ix_registration_modules_edition_module_id", "edition_module_id"),
)


class Registration(db.Model):
    __tablename__ = "registrations"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "edition_id"),
        sa.Index("ix_registrations_edition_id_status", "edition_id", "status"),
        # The staff list's order, so a page of a large edition is read straight from the index.
        sa.Index(
            "ix_registrations_review_order",
            "edition_id",
            "review_rank",
            "waitlist_position",
            "created_at",
            "id",
        ),
        sa.CheckConstraint(
            "(status = 'waitlisted') = (waitlist_position IS NOT NULL)",
            name="waitlist_position_iff_waitlisted",
        ),
        sa.CheckConstraint(
            "nomination_rank IS NULL OR nomination_rank >= 1", name="nomination_rank_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    edition_id: Mapped[int] = mapped_column(
        sa.ForeignKey("editions.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[RegistrationStatus] = mapped_column(
        enum_type(RegistrationStatus), default=RegistrationStatus.PENDING
    )
    waitlist_position: Mapped[int | None]
    # Where staff review it: pending first, then accepted, the waiting list, the rest. Kept by
    # the database from `status` (REVIEW_RANK_SQL), so it can never disagree with it.
    review_rank: Mapped[int] = mapped_column(sa.Computed(REVIEW_RANK_SQL, persisted=True))
    motivation: Mapped[str] = mapped_column(sa.Text, default="")
    needs: Mapped[str] = mapped_column(sa.Text, default="")  # accessibility or other needs
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    nomination: Mapped[Nomination | None] = mapped_column(enum_type(Nomination))
    nomination_note: Mapped[str] = mapped_column(sa.Text, default="")
    # The coordinator's order of preference among their country's people (1 = first).
    nomination_rank: Mapped[int | None]
    nominated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    nominated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    certificate_override: Mapped[CertificateOverride | None] = mapped_column(
        enum_type(CertificateOverride)
    )
    certificate_override_reason: Mapped[str] = mapped_column(sa.Text, default="")
    certificate_override_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    certificate_override_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    edition: Mapped[Edition] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    modules: Mapped[list[EditionModule]] = relationship(
        secondary=registration_modules, order_by=EditionModule.position
    )

    @hybrid_property
    def is_active(self) -> bool:
        """Pending, accepted or waitlisted (see ACTIVE_STATUSES); usable in queries too."""
        return self.status in ACTIVE_STATUSES

    @is_active.inplace.expression
    @classmethod
    def _is_active_expression(cls) -> sa.ColumnElement[bool]:
        return cls.status.in_(ACTIVE_STATUSES)

    def __repr__(self) -> str:
        return (
            f"<Registration {self.id} user={self.user_id} edition={self.edition_id} {self.status}>"
        )
