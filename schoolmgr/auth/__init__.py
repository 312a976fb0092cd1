"""Sign-up, sign-in, roles and the one helper every route uses for permission checks."""

from schoolmgr.auth import sessions
from schoolmgr.extensions import login_manager
from schoolmgr.models import User

login_manager.login_view = "auth.login"
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Load the signed-in user, if that sign-in has not ended (sign-out, password change...)."""
    return sessions.load_user(user_id)
