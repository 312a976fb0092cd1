"""Editions (seasonal schools and other events), catalogue modules, and scheduled sessions."""

import enum
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from schoolmgr.extensions import db
from schoolmgr.i18n import LANGUAGES
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models.types import UTCDateTime, enum_type, random_token, utcnow
from schoolmgr.models.user import Country


class EditionKind(enum.StrEnum):
    SEASONAL_SCHOOL = "seasonal_school"
    WEBINAR = "webinar"
    HACKATHON = "hackathon"
    WORKSHOP = "workshop"
    NETWORKING = "networking"
    COACHING = "coaching"

    @property
    def label(self) -> str:
        return str(EDITION_KIND_LABELS[self])


EDITION_KIND_LABELS = {
    EditionKind.SEASONAL_SCHOOL: _l("Seasonal school"),
    EditionKind.WEBINAR: _l("Webinar"),
    EditionKind.HACKATHON: _l("Hackathon"),
    EditionKind.WORKSHOP: _l("Workshop"),
    EditionKind.NETWORKING: _l("Networking event"),
    EditionKind.COACHING: _l("Coaching and mentoring"),
}


class EditionFormat(enum.StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"

    @property
    def label(self) -> str:
        return str(EDITION_FORMAT_LABELS[self])


EDITION_FORMAT_LABELS = {
    EditionFormat.IN_PERSON: _l("In person"),
    EditionFormat.ONLINE: _l("Online"),
    EditionFormat.HYBRID: _l("Hybrid"),
}


class RegistrationMode(enum.StrEnum):
    OPEN = "open"  # accepted in order until full, then waiting list
    MODERATED = "moderated"  # pending until staff decide

    @property
    def label(self) -> str:
        return str(
            _l("Open: first come, first served")
            if self is RegistrationMode.OPEN
            else _l("Moderated: staff review")
        )


class EditionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"

    @property
    def label(self) -> str:
        return str(EDITION_STATUS_LABELS[self])


EDITION_STATUS_LABELS = {
    EditionStatus.DRAFT: _l("Draft"),
    EditionStatus.PUBLISHED: _l("Published"),
    EditionStatus.ARCHIVED: _l("Archived"),
}


edition_module_trainers = sa.Table(
    "edition_module_trainers",
    db.metadata,
    sa.Column(
        "edition_module_id",
        sa.ForeignKey("edition_modules.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_edition_module_trainers_user_id", "user_id"),
)


# The certificate's languages: English only, English and the participant's own language, or
# English and one regional language chosen for the whole edition (a tag of schoolmgr.i18n).
CERTIFICATE_ENGLISH_ONLY = "en"
CERTIFICATE_PARTICIPANT_LANGUAGE = "participant"
CERTIFICATE_LANGUAGE_VALUES = (
    CERTIFICATE_ENGLISH_ONLY,
    CERTIFICATE_PARTICIPANT_LANGUAGE,
    *(language.tag for language in LANGUAGES if language.tag != "en"),
)


class Edition(db.Model):
    __tablename__ = "editions"
    __table_args__ = (
        sa.CheckConstraint("end_date >= start_date", name="dates_in_order"),
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        sa.CheckConstraint(
            "certificate_threshold >= 0 AND certificate_threshold <= 100",
            name="threshold_is_percent",
        ),
        sa.CheckConstraint(
            "certificate_language IN ("
            + ", ".join(f"'{value}'" for value in CERTIFICATE_LANGUAGE_VALUES)
            + ")",
            name="certificate_language_known",
        ),
        sa.CheckConstraint(
            "registration_opens_at IS NULL OR registration_closes_at IS NULL "
            "OR registration_closes_at > registration_opens_at",
            name="registration_window_in_order",
        ),
        # Status first: the lists by status, and the home page's count of past editions
        # (archived, or published and ended) read this index alone.
        sa.Index("ix_editions_status_end_date", "status", "end_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    # Editions of one recurring school share a series slug, e.g. "digital-transformation".
    series: Mapped[str | None] = mapped_column(sa.String(120), index=True)
    kind: Mapped[EditionKind] = mapped_column(
        enum_type(EditionKind), default=EditionKind.SEASONAL_SCHOOL
    )
    format: Mapped[EditionFormat] = mapped_column(
        enum_type(EditionFormat), default=EditionFormat.IN_PERSON
    )
    venue: Mapped[str] = mapped_column(sa.String(300), default="")
    online_url: Mapped[str] = mapped_column(sa.String(500), default="")
    # A map of the venue (shown in reminders and letters), e.g. an OpenStreetMap link.
    map_url: Mapped[str] = mapped_column(sa.String(500), default="")
    # What the school covers (travel, lodging, meals), written into invitation letters.
    letter_covers: Mapped[str] = mapped_column(sa.Text, default="")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Europe/Belgrade")
    start_date: Mapped[date] = mapped_column(index=True)
    end_date: Mapped[date] = mapped_column(index=True)
    registration_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    registration_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column(default=30)
    registration_mode: Mapped[RegistrationMode] = mapped_column(
        enum_type(RegistrationMode), default=RegistrationMode.OPEN
    )
    # When true, participants pick the edition modules they attend; otherwise they attend all.
    module_choice: Mapped[bool] = mapped_column(default=False)
    # When true, a registration stays pending until the national coordinator of the person's
    # country nominates them; staff decide after that.
    nomination_required: Mapped[bool] = mapped_column(default=False)
    # Country seats (EditionSeatQuota) stop binding at this time, or once staff release them.
    quota_release_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    quotas_released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[EditionStatus] = mapped_column(
        enum_type(EditionStatus), default=EditionStatus.DRAFT
    )
    description: Mapped[str] = mapped_column(sa.Text, default="")
    certificate_threshold: Mapped[int] = mapped_column(default=80)
    # Whether excused absences count as attended when computing attendance percentages.
    excused_counts_as_attended: Mapped[bool] = mapped_column(default=True)
    show_attendance_on_certificate: Mapped[bool] = mapped_column(default=False)
    # "en": English only; "participant": English and each participant's saved language; or a
    # language tag of schoolmgr.i18n: English and that language on every certificate.
    certificate_language: Mapped[str] = mapped_column(
        sa.String(16), default=CERTIFICATE_ENGLISH_ONLY
    )
    # [{"name": ..., "title": ..., "signature": "static path or empty"}]
    signatories: Mapped[list] = mapped_column(sa.JSON, default=list)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    edition_modules: Mapped[list["EditionModule"]] = relationship(
        back_populates="edition", order_by="EditionModule.position", cascade="all, delete-orphan"
    )
    seat_quotas: Mapped[list["EditionSeatQuota"]] = relationship(
        back_populates="edition",
        order_by="EditionSeatQuota.country",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def __repr__(self) -> str:
        return f"<Edition {self.slug}>"

    def quotas_bind(self, now: datetime) -> bool:
        """True while country seats are reserved: quotas set and not yet released."""
        if self.quotas_released_at is not None:
            return False
        if self.quota_release_at is not None and now >= self.quota_release_at:
            return False
        return any(q.seats for q in self.seat_quotas)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_published(self) -> bool:
        return self.status == EditionStatus.PUBLISHED

    def registration_is_open(self, now: datetime) -> bool:
        """True while a published edition is inside its registration window."""
        return self.why_registration_is_closed(now) is None

    def why_registration_is_closed(self, now: datetime) -> str | None:
        return why_registration_is_closed(self, now)


def why_registration_is_closed(edition, now: datetime) -> str | None:
    """None while registration is open, else why not: "edition_draft", "edition_archived",
    "registration_not_open" (not yet) or "registration_closed" (no longer). `edition` is an
    Edition or a row with its status and registration window (the home page's cards)."""
    if edition.status == EditionStatus.DRAFT:
        return "edition_draft"
    if edition.status == EditionStatus.ARCHIVED:
        return "edition_archived"
    if edition.registration_opens_at and now < edition.registration_opens_at:
        return "registration_not_open"
    if edition.registration_closes_at and now >= edition.registration_closes_at:
        return "registration_closed"
    return None


class EditionFormerSlug(db.Model):
    """An address an edition had before staff renamed it: old links and bookmarks still lead to
    it (a permanent redirect), unless another edition has since taken the address."""

    __tablename__ = "edition_former_slugs"

    slug: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    edition_id: Mapped[int] = mapped_column(
        sa.ForeignKey("editions.id", ondelete="CASCADE"), index=True
    )
    renamed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EditionSeatQuota(db.Model):
    """Seats of an edition reserved for the people of one country ("Other" for everyone else).

    Seats of the capacity not given to any country are open to all.
    """

    __tablename__ = "edition_seat_quotas"
    __table_args__ = (
        sa.UniqueConstraint("edition_id", "country"),
        sa.CheckConstraint("seats >= 0", name="seats_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(sa.ForeignKey("editions.id", ondelete="CASCADE"))
    country: Mapped[Country] = mapped_column(enum_type(Country))
    seats: Mapped[int] = mapped_column(default=0)

    edition: Mapped[Edition] = relationship(back_populates="seat_quotas")

    def __repr__(self) -> str:
        return f"<EditionSeatQuota {self.edition_id} {self.country}={self.seats}>"


class Module(db.Model):
    """A catalogue entry reused across editions."""

    __tablename__ = "modules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(120), unique=True)
    summary: Mapped[str] = mapped_column(sa.String(500), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    edition_modules: Mapped[list["EditionModule"]] = relationship(back_populates="module")

    def __repr__(self) -> str:
        return f"<Module {self.slug}>"

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None


class EditionModule(db.Model):
    """A catalogue module as offered in one edition, with its trainers."""

    __tablename__ = "edition_modules"
    __table_args__ = (sa.UniqueConstraint("edition_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(sa.ForeignKey("editions.id", ondelete="CASCADE"))
    module_id: Mapped[int] = mapped_column(
        sa.ForeignKey("modules.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    # Required for the certificate when the edition has mandatory modules.
    mandatory: Mapped[bool] = mapped_column(default=False)

    edition: Mapped[Edition] = relationship(back_populates="edition_modules")
    module: Mapped[Module] = relationship(back_populates="edition_modules")
    trainers: Mapped[list["User"]] = relationship(  # noqa: F821
        secondary=edition_module_trainers, order_by="User.sort_key"
    )
    sessions: Mapped[list["Session"]] = relationship(
        back_populates="edition_module",
        order_by=lambda: (Session.starts_at, Session.position),
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def __repr__(self) -> str:
        return f"<EditionModule {self.edition_id}/{self.module_id}>"


class Session(db.Model):
    """One scheduled slot of an edition module."""

    __tablename__ = "sessions"
    __table_args__ = (sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_module_id: Mapped[int] = mapped_column(
        sa.ForeignKey("edition_modules.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    room: Mapped[str] = mapped_column(sa.String(200), default="")
    online_url: Mapped[str] = mapped_column(sa.String(500), default="")
    position: Mapped[int] = mapped_column(default=0)
    # Typed self check-in code, valid for the whole check-in window.
    checkin_code: Mapped[str | None] = mapped_column(sa.String(12))
    # Secret from which the rotating QR tokens are derived.
    checkin_secret: Mapped[str] = mapped_column(sa.String(64), default=random_token)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    edition_module: Mapped[EditionModule] = relationship(back_populates="sessions")

    def __repr__(self) -> str:
        return f"<Session {self.id} {self.starts_at:%Y-%m-%d %H:%M}>"

    @property
    def duration_hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600
