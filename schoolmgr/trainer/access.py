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


def managed_session(session_id: int) -> Session:
    """A session of a module the current user may manage: 404 when missing, 403 otherwise."""
    # One query for the session, its module and edition (the pages show all three).
    session = db.session.scalar(
        sa.select(Session)
        .where(Session.id == session_id)
        .options(
            joinedload(Session.edition_module).options(
                joinedload(EditionModule.edition), joinedload(EditionModule.module)
            )
        )
    )
    if session is None:
        abort(404)
    if not may_manage(current_user, session.edition_module):
        abort(403)
    return session
