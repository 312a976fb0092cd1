"""Sign-up, sign-in, roles and the one helper every route uses for permission checks."""

import sqlalchemy as sa

from schoolmgr.extensions import db, login_manager
from schoolmgr.models import User

login_manager.login_view = "auth.login"
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Load the signed-in user; a session from before a password change no longer matches."""
    ident, _, version = user_id.partition(":")
    if not ident.isdigit():
        return None
    user = db.session.scalar(sa.select(User).where(User.id == int(ident)))
    if user is None or str(user.session_version) != version:
        return None
    return user
