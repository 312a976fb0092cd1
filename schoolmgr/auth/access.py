"""Role checks: one decorator for routes and one function for everything else."""

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from schoolmgr.models import Role


def role_required(*roles: Role) -> Callable:
    """Require sign-in and one of `roles`; admins pass wherever staff do.

    Anonymous visitors are sent to the sign-in page; signed-in users without the role get 403.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


staff_required = role_required(Role.STAFF)
