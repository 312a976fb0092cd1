"""Rules for a user's own profile and password."""

from schoolmgr.audit import record
from schoolmgr.auth.services import check_new_password
from schoolmgr.auth.sessions import end_all_sessions
from schoolmgr.errors import DomainError
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import LANGUAGES, Country, Gender, InstitutionType, User
from schoolmgr.text import normalise_line


class AccountError(DomainError):
    """Codes: wrong_password, weak_password, same_password, bad_language."""


PROFILE_FIELDS = (
    "full_name",
    "institution",
    "institution_type",
    "position",
    "country",
    "gender",
    "preferred_language",
    "wants_announcements",
)
SENSITIVE_FIELDS = frozenset({"gender"})


def update_profile(
    user: User,
    *,
    full_name: str,
    institution: str,
    position: str,
    country: str | None,
    preferred_language: str,
    gender: str | None = None,
    institution_type: str | None = None,
    wants_announcements: bool | None = None,
) -> User:
    """Save the user's own details."""
    if preferred_language not in LANGUAGES:
        raise AccountError(_("Choose one of the listed languages."), "bad_language")
    before = {f: _plain(getattr(user, f)) for f in PROFILE_FIELDS}
    user.full_name = normalise_line(full_name)
    user.institution = normalise_line(institution)
    user.position = normalise_line(position)
    user.country = Country(country) if country else None
    user.gender = Gender(gender) if gender else None
    user.institution_type = InstitutionType(institution_type) if institution_type else None
    user.preferred_language = preferred_language
    if wants_announcements is not None:
        user.wants_announcements = wants_announcements
    after = {f: _plain(getattr(user, f)) for f in PROFILE_FIELDS}
    changed = [f for f in PROFILE_FIELDS if before[f] != after[f]]
    if changed:
        record(
            "user.profile_updated",
            target=user,
            summary=", ".join(changed),
            # Gender is named as changed, its values stay out of the log.
            before={f: before[f] for f in changed if f not in SENSITIVE_FIELDS},
            after={f: after[f] for f in changed if f not in SENSITIVE_FIELDS},
        )
    db.session.commit()
    return user


def _plain(value):
    return value.value if hasattr(value, "value") else value


def change_password(user: User, current: str, new: str) -> User:
    """Replace the password; other signed-in sessions of this user end."""
    if not user.check_password(current):
        raise AccountError(_("Your current password is not correct."), "wrong_password", 400)
    check_new_password(new, AccountError)
    if new == current:
        raise AccountError(_("The new password is the same as the current one."), "same_password")
    user.set_password(new)
    end_all_sessions(user, keep_current=True)
    record("user.password_changed", target=user, summary=user.email)
    db.session.commit()
    return user


def choose_language(user: User | None, tag: str) -> str:
    """Remember the language chosen in the header menu; a signed-in user keeps it in the profile."""
    if tag not in LANGUAGES:
        raise AccountError(_("Choose one of the listed languages."), "bad_language")
    if user is not None and user.is_authenticated and user.preferred_language != tag:
        record(
            "user.profile_updated",
            target=user,
            summary="preferred_language",
            before={"preferred_language": user.preferred_language},
            after={"preferred_language": tag},
        )
        user.preferred_language = tag
        db.session.commit()
    return tag
