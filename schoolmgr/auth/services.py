"""Account rules: creating users and checking credentials."""

import logging

import sqlalchemy as sa
from flask import current_app, url_for

from schoolmgr import audit, passwords
from schoolmgr.auth.sessions import end_all_sessions
from schoolmgr.auth.tokens import (
    ExpiredLinkError,
    InvalidLinkError,
    account_link_token,
    user_for_account_link,
)
from schoolmgr.errors import DomainError
from schoolmgr.extensions import db
from schoolmgr.forms import MIN_PASSWORD_LENGTH
from schoolmgr.i18n import DEFAULT_LANGUAGE
from schoolmgr.i18n import gettext as _
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.mail import queue_email
from schoolmgr.models import Country, Role, User, normalise_email, utcnow
from schoolmgr.text import line_problem, normalise_line

log = logging.getLogger(__name__)


class AuthError(DomainError):
    """Codes: email_taken, bad_name, bad_credentials, inactive, weak_password, reset_link_expired,
    reset_link_invalid."""


def check_new_password(password: str, error: type[DomainError] = AuthError, **extra) -> None:
    """The one password rule; raises `error` with code "weak_password" when it is not met."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise error(
            _("Choose a password of at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
            "weak_password",
            **extra,
        )


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
    preferred_language: str = DEFAULT_LANGUAGE,
    commit: bool = True,
) -> User:
    """Create an account; the email must be free in any letter case."""
    if find_user_by_email(email) is not None:
        raise AuthError(_("An account with this email address already exists."), "email_taken", 409)
    if password is not None:
        check_new_password(password)
    full_name = normalise_line(full_name)
    if not full_name or line_problem(full_name):  # the forms say why; this guards the CLI
        raise AuthError(_("Enter the name as it should be printed, on one line."), "bad_name")
    user = User(
        email=email,
        full_name=full_name,
        role=Role(role),
        country=Country(country) if country else None,
        institution=normalise_line(institution),
        position=normalise_line(position),
        preferred_language=preferred_language,
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


def sign_up(
    *,
    email: str,
    full_name: str,
    password: str,
    country: Country | str | None,
    institution: str,
    position: str = "",
    preferred_language: str = DEFAULT_LANGUAGE,
) -> None:
    """Create a participant account and email a welcome; when the address already has an
    account, email its owner a note instead. The caller answers the same either way, so the
    form does not reveal who has an account (the work done is alike too: one password hash,
    one email)."""
    check_new_password(password)
    existing = find_user_by_email(email)
    if existing is None:
        try:
            user = create_user(
                email=email,
                full_name=full_name,
                password=password,
                country=country,
                institution=institution,
                position=position,
                preferred_language=preferred_language,
                commit=False,
            )
            db.session.flush()
        except sa.exc.IntegrityError:  # a concurrent sign-up with this address won the race
            db.session.rollback()
            existing = find_user_by_email(email)
        else:
            queue_email(
                user,
                "signup_welcome",
                _l("Your account is ready"),
                user=user,
                login_url=url_for("auth.login", _external=True),
            )
            db.session.commit()
            return
    passwords.spend_check(password)
    if existing is None or not existing.active or existing.anonymised_at is not None:
        log.info("Sign-up with the address of an inactive account")
        return
    log.info("Sign-up with the address of existing account %s: owner notified", existing.id)
    queue_email(
        existing,
        "signup_existing",
        _l("Someone tried to create an account with your email address"),
        user=existing,
        login_url=url_for("auth.login", _external=True),
        forgot_url=url_for("auth.forgot_password", _external=True),
    )
    db.session.commit()


def authenticate(email: str, password: str) -> User:
    """Return the user for these credentials, or raise AuthError without saying which was wrong."""
    user = find_user_by_email(email)
    if user is None:
        passwords.spend_check(password)  # as long as a wrong password: no tell-tale timing
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


# --- password reset by email ----------------------------------------------------------------

RESET_SALT = "password-reset"


def password_reset_token(user: User) -> str:
    return account_link_token(user, RESET_SALT)


def request_password_reset(email: str) -> None:
    """Email a reset link when an active account has this address; say nothing either way."""
    user = find_user_by_email(email)
    if user is None or not user.active or user.anonymised_at is not None:
        log.info("Password reset asked for an unknown or inactive address")
        return
    max_age = current_app.config["PASSWORD_RESET_MAX_AGE"]
    queue_email(
        user,
        "password_reset",
        _l("Reset your password"),
        user=user,
        reset_url=url_for("auth.reset_password", token=password_reset_token(user), _external=True),
        minutes=max_age // 60,
    )
    db.session.commit()


def user_for_reset_token(token: str) -> User:
    """The user a reset link belongs to, if the link is genuine, fresh and unused."""
    try:
        return user_for_account_link(
            token, RESET_SALT, current_app.config["PASSWORD_RESET_MAX_AGE"]
        )
    except ExpiredLinkError as exc:
        raise AuthError(
            _("This link has expired. Ask for a new one."), "reset_link_expired", 400
        ) from exc
    except InvalidLinkError as exc:
        raise AuthError(
            _("This link has already been used or is no longer valid. Ask for a new one.")
            if exc.used
            else _("This link is not valid. Ask for a new one."),
            "reset_link_invalid",
            400,
        ) from exc


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link; the link and all other sessions stop working."""
    user = user_for_reset_token(token)
    check_new_password(new_password)
    user.set_password(new_password)
    end_all_sessions(user)
    audit.record("user.password_reset", target=user, actor=user, summary="Password reset by email")
    db.session.commit()
    return user
