"""People: participants, trainers, programme staff and administrators."""

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, validates

from schoolmgr import passwords
from schoolmgr.extensions import db
from schoolmgr.i18n import LANGUAGE_NAMES
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models.types import UTCDateTime, enum_type, random_token, utcnow
from schoolmgr.text import NAME_LOCALES, fold, name_collation, person_sort_key


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


class Gender(enum.StrEnum):
    """Self-described, optional: funders ask for sex-disaggregated figures."""

    WOMAN = "woman"
    MAN = "man"
    ANOTHER_TERM = "another_term"
    PREFER_NOT_TO_SAY = "prefer_not_to_say"

    @property
    def label(self) -> str:
        return str(GENDER_LABELS[self])


GENDER_LABELS = {
    Gender.WOMAN: _l("Woman"),
    Gender.MAN: _l("Man"),
    Gender.ANOTHER_TERM: _l("I use another term"),
    Gender.PREFER_NOT_TO_SAY: _l("Prefer not to say"),
}


class InstitutionType(enum.StrEnum):
    MINISTRY = "ministry"
    AGENCY = "agency"
    LOCAL_GOVERNMENT = "local_government"
    PARLIAMENT = "parliament"
    JUDICIARY = "judiciary"
    ACADEMIA = "academia"
    CIVIL_SOCIETY = "civil_society"
    INTERNATIONAL = "international"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(INSTITUTION_TYPE_LABELS[self])


INSTITUTION_TYPE_LABELS = {
    InstitutionType.MINISTRY: _l("Ministry"),
    InstitutionType.AGENCY: _l("Agency or other central body"),
    InstitutionType.LOCAL_GOVERNMENT: _l("Local government"),
    InstitutionType.PARLIAMENT: _l("Parliament"),
    InstitutionType.JUDICIARY: _l("Judiciary"),
    InstitutionType.ACADEMIA: _l("Academia"),
    InstitutionType.CIVIL_SOCIETY: _l("Civil society"),
    InstitutionType.INTERNATIONAL: _l("International organisation"),
    InstitutionType.OTHER: _l("Other"),
}

# Working language and the regional languages, each named in itself (see schoolmgr/i18n.py).
LANGUAGES = LANGUAGE_NAMES


# The column holding the name's key in each alphabet (an ICU locale of text.NAME_LOCALES).
SORT_KEY_COLUMNS = {
    "sr_Latn": "sort_key",
    "en": "sort_key_en",
    "sq": "sort_key_sq",
    "mk": "sort_key_mk",
    "sr": "sort_key_sr",
}
assert set(SORT_KEY_COLUMNS) == set(NAME_LOCALES)


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
    # Collation keys of the name (family name, then given names), one per alphabet of the page
    # languages (text.NAME_COLLATIONS): lists of people sort in SQL on the key of the page's
    # language, `order_by(User.name_order(), User.id)`, in alphabetical rather than code-point
    # order. `sort_key` is the Latin alphabet of Bosnian, Croatian, Montenegrin and Serbian.
    sort_key: Mapped[bytes] = mapped_column(sa.LargeBinary(1000), default=b"", index=True)
    sort_key_en: Mapped[bytes] = mapped_column(sa.LargeBinary(1000), default=b"", index=True)
    sort_key_sq: Mapped[bytes] = mapped_column(sa.LargeBinary(1000), default=b"", index=True)
    sort_key_mk: Mapped[bytes] = mapped_column(sa.LargeBinary(1000), default=b"", index=True)
    sort_key_sr: Mapped[bytes] = mapped_column(sa.LargeBinary(1000), default=b"", index=True)
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
    # Optional answers for the programme reports; None means "not answered".
    gender: Mapped[Gender | None] = mapped_column(enum_type(Gender))
    institution_type: Mapped[InstitutionType | None] = mapped_column(enum_type(InstitutionType))
    preferred_language: Mapped[str] = mapped_column(sa.String(10), default="en")
    active: Mapped[bool] = mapped_column(default=True, index=True)
    # False: no announcements by email (confirmations, session changes, certificates still go).
    wants_announcements: Mapped[bool] = mapped_column(default=True)
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
        if key == "full_name":
            for locale, column in SORT_KEY_COLUMNS.items():
                setattr(self, column, person_sort_key(value, locale)[:1000])
        return value

    @classmethod
    def name_order(cls, language: str | None = None):
        """The sort-key column of `language` (default: the page's): ORDER BY it for names."""
        return cls.sort_key_column(name_collation(language))

    @classmethod
    def sort_key_column(cls, collation: str):
        """The sort-key column of an ICU locale of text.NAME_LOCALES."""
        return getattr(cls, SORT_KEY_COLUMNS[collation])

    # The sign-in this instance was loaded for (or opened by get_id); not a column.
    session_key = None

    # Flask-Login stores this in the signed cookie: "user id:session version:session key".
    # The key names a row of user_sessions, which sign-out deletes; bumping the version (password
    # change, deactivation, role change) ends every sign-in of the user at once.
    def get_id(self) -> str:
        if self.session_key is None:
            # auth.sessions builds on the models: imported on use, not at load time.
            from schoolmgr.auth.sessions import open_session

            open_session(self)
        return f"{self.id}:{self.session_version}:{self.session_key}"

    @property
    def is_active(self) -> bool:
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = passwords.hash_password(password)

    def check_password(self, password: str) -> bool:
        """The same hash work whether or not the account has a password (no timing tell).
        A match against an older kind of hash stores a new one (committed with the caller)."""
        if not self.password_hash:
            passwords.spend_check(password)
            return False
        matches, rehash = passwords.check(self.password_hash, password)
        if rehash:
            self.set_password(password)
        return matches

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

    @property
    def gender_label(self) -> str:
        return self.gender.label if self.gender else ""

    @property
    def institution_type_label(self) -> str:
        return self.institution_type.label if self.institution_type else ""


def normalise_email(value: str | None) -> str:
    return (value or "").strip().lower()


class UserSession(db.Model):
    """One sign-in (a browser): its key lives in the signed cookie, its hash here. Deleting the
    row ends that sign-in in every app process, whatever cookies were copied before."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
