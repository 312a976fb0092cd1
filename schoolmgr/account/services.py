"""Rules for a user's own profile and password."""

from flask_babel import gettext as _

from schoolmgr.audit import record
from schoolmgr.auth.services import check_new_password
from schoolmgr.errors import DomainError
from schoolmgr.extensions import db
from schoolmgr.models import LANGUAGES, Country, User


class AccountError(DomainError):
    """Codes: wrong_password, weak_password, same_password, bad_language."""


PROFILE_FIELDS = (
    "full_name",
    "institution",
    "position",
    "country",
    "preferred_language",
    "wants_announcements",
)


def update_profile(
    user: User,
    *,
    full_name: str,
    institution: str,
    position: str,
    country: str | None,
    preferred_language: str,
    wants_announcements: bool | None = None,
) -> User:
    """Save the user's own details."""
    if preferred_language not in LANGUAGES:
        raise AccountError(_("Choose one of the listed languages."), "bad_language")
    before = {f: _plain(getattr(user, f)) for f in PROFILE_FIELDS}
    user.full_name = full_name.strip()
    user.institution = institution.strip()
    user.position = position.strip()
    user.country = Country(country) if country else None
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
            before={f: before[f] for f in changed},
            after={f: after[f] for f in changed},
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
    user.session_version += 1
    record("user.password_changed", target=user, summary=user.email)
    db.session.commit()
    return user
