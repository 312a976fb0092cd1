"""Account rules: creating users and checking credentials."""

import logging

import sqlalchemy as sa
from flask_babel import gettext as _

from schoolmgr.errors import DomainError
from schoolmgr.extensions import db
from schoolmgr.forms import MIN_PASSWORD_LENGTH
from schoolmgr.models import Country, Role, User, normalise_email, utcnow

log = logging.getLogger(__name__)


class AuthError(DomainError):
    """Codes: email_taken, bad_credentials, inactive, weak_password."""


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def create_user(
    *,
    email: str,
    full_name: str,
    password: str | None,
    role: Role = Role.PARTICIPANT,
    country: Country | str | None = None,
    institution: str = "",
    position: str = "",
    commit: bool = True,
) -> User:
    """Create an account; the email must be free in any letter case."""
    if find_user_by_email(email) is not None:
        raise AuthError(_("An account with this email address already exists."), "email_taken", 409)
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(
            _("Choose a password of at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
            "weak_password",
        )
    user = User(
        email=email,
        full_name=full_name.strip(),
        role=Role(role),
        country=Country(country) if country else None,
        institution=institution.strip(),
        position=position.strip(),
    )
    if password is not None:
        user.set_password(password)
    db.session.add(user)
    if commit:
        try:
            db.session.commit()
        except sa.exc.IntegrityError as exc:  # a concurrent sign-up won the race
            db.session.rollback()
            raise AuthError(
                _("An account with this email address already exists."), "email_taken", 409
            ) from exc
    return user


def authenticate(email: str, password: str) -> User:
    """Return the user for these credentials, or raise AuthError without saying which was wrong."""
    user = find_user_by_email(email)
    if user is None or not user.check_password(password):
        log.warning("Failed sign-in for %r", normalise_email(email)[:254])
        raise AuthError(_("Wrong email or password."), "bad_credentials", 401)
    if not user.active:
        log.warning("Sign-in refused for deactivated account %s", user.id)
        raise AuthError(
            _("This account has been deactivated. Contact the programme staff."), "inactive", 403
        )
    user.last_login_at = utcnow()
    db.session.commit()
    return user
