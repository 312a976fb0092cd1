"""The one question every trainer-workspace route asks: may this user manage this module?"""

import sqlalchemy as sa
from flask import abort
from flask_login import current_user
from sqlalchemy.orm import joinedload

from schoolmgr.extensions import db
from schoolmgr.models import EditionModule, Session, User, edition_module_trainers


def may_manage(user: User, edition_module: EditionModule) -> bool:
    """Staff (and admins) manage every module; a trainer only the modules they are assigned to."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    if not user.is_trainer:
        return False
    return bool(
        db.session.scalar(
            sa.select(sa.literal(True)).where(
                edition_module_trainers.c.edition_module_id == edition_module.id,
                edition_module_trainers.c.user_id == user.id,
            )
        )
    )


def managed_edition_module(edition_module_id: int) -> EditionModule:
    """The edition module, if the current user may manage it: 404 when missing, 403 otherwise."""
    edition_module = db.session.scalar(
        sa.select(EditionModule)
        .where(EditionModule.id == edition_module_id)
        .options(joinedload(EditionModule.edition), joinedload(EditionModule.module))
    )
    if edition_module is None:
        abort(404)
    if not may_manage(current_user, edition_module):
        abort(403)
    return edition_module


# Built once per process: every roster and check-in page runs it. One query for the session,
# its module and edition (the pages show all three).
_SESSION_WITH_MODULE = (
    sa.select(Session)
    .where(Session.id == sa.bindparam("session_id"))
    .options(
        joinedload(Session.edition_module).options(
            joinedload(EditionModule.edition), joinedload(EditionModule.module)
        )
    )
)


def managed_session(session_id: int) -> Session:
    """A session of a module the current user may manage: 404 when missing, 403 otherwise."""
    session = db.session.scalar(_SESSION_WITH_MODULE, {"session_id": session_id})
    if session is None:
        abort(404)
    if not may_manage(current_user, session.edition_module):
        abort(403)
    return session
