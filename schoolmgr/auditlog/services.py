"""Reading the audit trail: filters over action, actor, edition and dates."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from schoolmgr.extensions import db
from schoolmgr.models import AuditEvent, Edition, Role, User
from schoolmgr.timeutils import to_utc


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor_id: int | None = None
    edition_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    tz: str = "Europe/Belgrade"


def events(f: AuditFilter) -> sa.Select:
    """Newest first; `date_to` is inclusive (whole local day)."""
    query = (
        sa.select(AuditEvent)
        .options(selectinload(AuditEvent.actor))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    if f.action:
        if f.action.endswith("."):
            query = query.where(AuditEvent.action.startswith(f.action))
        else:
            query = query.where(AuditEvent.action == f.action)
    if f.actor_id:
        query = query.where(AuditEvent.actor_id == f.actor_id)
    if f.edition_id:
        query = query.where(AuditEvent.edition_id == f.edition_id)
    if f.date_from and (start := _midnight(f.date_from, f.tz)):
        query = query.where(AuditEvent.created_at >= start)
    if f.date_to and (end := _midnight(f.date_to, f.tz, days_after=1)):
        query = query.where(AuditEvent.created_at < end)
    return query


def _midnight(day: date, tz: str, days_after: int = 0) -> datetime | None:
    """The start of `day` (or of a day after it) where the school is, in UTC; None at either
    end of the calendar (year 1, year 9999), where the bound leaves nothing out."""
    try:
        return to_utc(day + timedelta(days=days_after), time(0), tz)
    except OverflowError:
        return None


def action_choices() -> list[str]:
    return list(
        db.session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    )


def actor_choices() -> list[tuple[int, str]]:
    """People who can act: staff, admins and trainers."""
    return [
        (u.id, u.full_name)
        for u in db.session.scalars(
            sa.select(User)
            .where(User.role.in_([Role.STAFF, Role.ADMIN, Role.TRAINER]))
            .order_by(User.name_order(), User.id)
        )
    ]


def edition_choices() -> list[tuple[int, str]]:
    return [
        (e.id, e.title)
        for e in db.session.scalars(sa.select(Edition).order_by(Edition.start_date.desc()))
    ]


def editions_by_id(ids: set[int]) -> dict[int, Edition]:
    if not ids:
        return {}
    return {e.id: e for e in db.session.scalars(sa.select(Edition).where(Edition.id.in_(ids)))}
