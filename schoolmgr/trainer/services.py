"""Read-side of the trainer workspace: which modules and sessions a trainer or staff member sees."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from schoolmgr.extensions import db
from schoolmgr.models import (
    Attendance,
    Edition,
    EditionModule,
    EditionStatus,
    Module,
    Session,
    User,
    edition_module_trainers,
)


def _scope(query: sa.Select, user: User) -> sa.Select:
    """Staff see every module; trainers only their own."""
    if user.is_staff:
        return query
    return query.join(
        edition_module_trainers,
        edition_module_trainers.c.edition_module_id == EditionModule.id,
    ).where(edition_module_trainers.c.user_id == user.id)


def modules_query(user: User) -> sa.Select:
    """The edition modules `user` manages, newest edition first (for paginate)."""
    query = (
        sa.select(EditionModule)
        .join(Edition, Edition.id == EditionModule.edition_id)
        .join(Module, Module.id == EditionModule.module_id)
        .where(Edition.status != EditionStatus.ARCHIVED)
        .options(
            joinedload(EditionModule.edition),
            joinedload(EditionModule.module),
            selectinload(EditionModule.trainers),
        )
        .order_by(Edition.start_date.desc(), EditionModule.position, Module.name)
    )
    return _scope(query, user)


def upcoming_sessions(user: User, now: datetime, limit: int = 15) -> list[Session]:
    """The next sessions (not yet ended) of modules `user` manages."""
    query = (
        sa.select(Session)
        .join(EditionModule, EditionModule.id == Session.edition_module_id)
        .where(Session.ends_at >= now)
        .options(
            joinedload(Session.edition_module).joinedload(EditionModule.edition),
            joinedload(Session.edition_module).joinedload(EditionModule.module),
        )
        .order_by(Session.starts_at)
        .limit(limit)
    )
    return list(db.session.scalars(_scope(query, user)))


def mark_counts(session_ids: list[int]) -> dict[int, int]:
    """How many marks each session has (one query)."""
    if not session_ids:
        return {}
    rows = db.session.execute(
        sa.select(Attendance.session_id, sa.func.count())
        .where(Attendance.session_id.in_(session_ids))
        .group_by(Attendance.session_id)
    )
    return dict(rows.all())
