"""People: participants, trainers, programme staff and administrators."""

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, validates
from werkzeug.security import check_password_hash, generate_password_hash

from schoolmgr.extensions import db
from schoolmgr.models.types import UTCDateTime, enum_type, random_token, utcnow
from schoolmgr.text import fold


class Role(enum.StrEnum):
    PARTICIPANT = "participant"
    TRAINER = "trainer"
    STAFF = "staff"
    ADMIN = "admin"
    COORDINATOR = "coordinator"  # national coordinator: nominates the people of one country

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.PARTICIPANT: _l("Participant"),
    Role.TRAINER: _l("Trainer"),
    Role.STAFF: _l("Programme staff"),
    Role.ADMIN: _l("Administrator"),
    Role.COORDINATOR: _l("National coordinator"),
}


class Country(enum.StrEnum):
    """The six Western Balkan governments the school serves, and everyone else."""

    ALBANIA = "AL"
    BOSNIA_AND_HERZEGOVINA = "BA"
    KOSOVO = "XK"
    MONTENEGRO = "ME"
    NORTH_MACEDONIA = "MK"
    SERBIA = "RS"
    OTHER = "OTHER"

    @property
    def label(self) -> str:
        return str(COUNTRY_LABELS[self])


COUNTRY_LABELS = {
    Country.ALBANIA: _l("Albania"),
    Country.BOSNIA_AND_HERZEGOVINA: _l("Bosnia and Herzegovina"),
    Country.KOSOVO: _l("Kosovo*"),
    Country.MONTENEGRO: _l("Montenegro"),
    Country.NORTH_MACEDONIA: _l("North Macedonia"),
    Country.SERBIA: _l("Serbia"),
    Country.OTHER: _l("Other"),
}

# Shown wherever "Kosovo*" appears (lists, exports, reports): the regional convention.
KOSOVO_FOOTNOTE = _l(
    "*This designation is without prejudice to positions on status, and is in line with "
    "UNSCR 1244/1999 and the ICJ Opinion on the Kosovo declaration of independence."
)

# Working language and the regional languages, with their names as speakers write them.
LANGUAGES = {
    "en": "English",
    "sq": "Shqip",
    "bs": "Bosanski",
    "hr": "Hrvatski",
    "mk": "Македонски",
    "cnr": "Crnogorski",
    "sr-Latn": "Srpski (latinica)",
    "sr-Cyrl": "Српски (ћирилица)",
}


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "(role = 'coordinator') = (coordinator_country IS NOT NULL)",
            name="coordinator_has_country",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique constraint is case-insensitive.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200), index=True)
    # Accent- and script-folded name, email and institution for search ("colic" finds "Čolić").
    search_key: Mapped[str] = mapped_column(sa.String(700), default="", index=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role), default=Role.PARTICIPANT, index=True)
    country: Mapped[Country | None] = mapped_column(enum_type(Country), index=True)
    # The country a national coordinator nominates for; set by staff only, never by the
    # profile form, so a coordinator cannot widen what they see by editing their own country.
    coordinator_country: Mapped[Country | None] = mapped_column(
        enum_type(Country, name="coordinator_country"), index=True
    )
    institution: Mapped[str] = mapped_column(sa.String(200), default="")
    position: Mapped[str] = mapped_column(sa.String(200), default="")
    preferred_language: Mapped[str] = mapped_column(sa.String(10), default="en")
    active: Mapped[bool] = mapped_column(default=True, index=True)
    # Bumped on password change: sessions carrying an older value are signed out.
    session_version: Mapped[int] = mapped_column(default=1)
    calendar_token: Mapped[str] = mapped_column(sa.String(64), unique=True, default=random_token)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"

    @validates("email", "full_name", "institution")
    def _refresh_search_key(self, key, value):
        if key == "email":
            value = normalise_email(value)
        parts = {
            "full_name": self.full_name or "",
            "email": self.email or "",
            "institution": self.institution or "",
        }
        parts[key] = value or ""
        self.search_key = fold(" ".join(parts.values()))[:700]
        return value

    # Flask-Login: the session carries the version, so a password change ends other sessions.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def has_role(self, *roles: Role) -> bool:
        """True when the user holds one of the roles; admins hold every staff right."""
        if self.role == Role.ADMIN and Role.STAFF in roles:
            return True
        return self.role in roles

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.STAFF, Role.ADMIN)

    @property
    def is_trainer(self) -> bool:
        return self.role == Role.TRAINER

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR

    @property
    def country_label(self) -> str:
        return self.country.label if self.country else ""


def normalise_email(value: str | None) -> str:
    return (value or "").strip().lower()
