"""Signed links that act for an account (password reset, trainer invitation): one scheme.

A token names the user and a fingerprint of their password, so it stops working once the
password is set or changed; each kind of link signs with its own salt, so one kind cannot be
used as another.
"""

import hashlib
import hmac

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from schoolmgr.extensions import db
from schoolmgr.models import User


class ExpiredLinkError(Exception):
    """The link is genuine but older than its maximum age."""


class InvalidLinkError(Exception):
    """The link is forged or damaged, or (`used`) it was used or its account is deactivated."""

    def __init__(self, *, used: bool):
        super().__init__("used" if used else "not genuine")
        self.used = used


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)


def _password_fingerprint(user: User) -> str:
    """Changes whenever the password (or session version) does: a used link stops working."""
    material = f"{user.id}:{user.password_hash or ''}:{user.session_version}"
    return hashlib.sha256(material.encode()).hexdigest()[:20]


def account_link_token(user: User, purpose: str) -> str:
    return _serializer(purpose).dumps({"u": user.id, "f": _password_fingerprint(user)})


def user_for_account_link(token: str, purpose: str, max_age: int) -> User:
    """The active user a genuine, fresh and unused link of `purpose` belongs to."""
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise ExpiredLinkError from exc
    except BadSignature as exc:
        raise InvalidLinkError(used=False) from exc
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if (
        user is None
        or not user.active
        or not hmac.compare_digest(str(data.get("f", "")), _password_fingerprint(user))
    ):
        raise InvalidLinkError(used=True)
    return user
