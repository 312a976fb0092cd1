"""Server-side sign-ins: one `user_sessions` row per signed-in browser.

The signed cookie only names the row (with a random key); sign-out deletes the row, so a cookie
copied before sign-out is refused afterwards, by every app process, since they share the
database. Ending every sign-in of a user (password change or reset, deactivation, role change,
account deletion) bumps `User.session_version`, which the cookie also carries, and deletes the
rows.
"""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_login import login_user

from schoolmgr.extensions import db
from schoolmgr.models import User, UserSession, utcnow


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _max_age() -> timedelta:
    return timedelta(seconds=current_app.config["SESSION_MAX_AGE"])


def open_session(user: User) -> str:
    """Record a new sign-in of `user` (committed) and return its key; drop their expired ones."""
    key = secrets.token_urlsafe(32)
    db.session.execute(
        sa.delete(UserSession).where(
            UserSession.user_id == user.id, UserSession.created_at < utcnow() - _max_age()
        )
    )
    db.session.add(UserSession(user_id=user.id, key_hash=_hash(key)))
    db.session.commit()
    user.session_key = key
    return key


def sign_in(user: User, remember: bool = False) -> None:
    """Begin a new sign-in of `user` in this browser (a new server-side session)."""
    open_session(user)
    login_user(user, remember=remember)


# Built once per process: every signed-in request runs it.
_USER_OF_OPEN_SESSION = (
    sa.select(User)
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        User.id == sa.bindparam("user_id"),
        UserSession.key_hash == sa.bindparam("key_hash"),
        UserSession.created_at >= sa.bindparam("opened_since"),
    )
)


def load_user(user_id: str) -> User | None:
    """The user of a cookie's "id:version:key", if that sign-in is still open; one query."""
    ident, version, key = (user_id.split(":", 2) + ["", ""])[:3]
    if not ident.isdigit() or not key or int(ident) > 2**31 - 1:
        return None
    user = db.session.scalar(
        _USER_OF_OPEN_SESSION,
        {"user_id": int(ident), "key_hash": _hash(key), "opened_since": utcnow() - _max_age()},
    )
    if user is None or not user.active or str(user.session_version) != version:
        return None
    user.session_key = key
    return user


def end_session(user: User) -> None:
    """Sign-out: this browser's sign-in ends (committed); the user's other sign-ins stay."""
    if user.session_key is not None:
        db.session.execute(
            sa.delete(UserSession).where(UserSession.key_hash == _hash(user.session_key))
        )
        db.session.commit()
    user.session_key = None


def end_all_sessions(user: User, keep_current: bool = False) -> None:
    """End every sign-in of `user` (optionally not the current one); the caller commits."""
    user.session_version = (user.session_version or 0) + 1
    statement = sa.delete(UserSession).where(UserSession.user_id == user.id)
    if keep_current and user.session_key is not None:
        statement = statement.where(UserSession.key_hash != _hash(user.session_key))
    else:
        user.session_key = None
    db.session.execute(statement)
