"""Recording audit events. Services call `record` before they commit."""

import sqlalchemy as sa
from flask_login import current_user
from sqlalchemy.orm import Session

from schoolmgr.extensions import db
from schoolmgr.models import AuditEvent, User

_UNNAMED = "audit_events_awaiting_target_id"


def record(
    action: str,
    *,
    target=None,
    actor: User | None = None,
    edition_id: int | None = None,
    summary: str = "",
    reason: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits)."""
    if actor is None and current_user and getattr(current_user, "is_authenticated", False):
        actor = current_user._get_current_object()
    event = AuditEvent(
        action=action,
        actor=actor,
        target_type=type(target).__name__.lower() if target is not None else "",
        target_id=getattr(target, "id", None),
        edition_id=edition_id,
        summary=summary[:500],
        reason=reason,
        before=before,
        after=after,
    )
    db.session.add(event)
    if target is not None and event.target_id is None:
        # Added in this transaction and not flushed yet: named once the flush gives it an id.
        db.session.info.setdefault(_UNNAMED, []).append((event, target))
    return event


@sa.event.listens_for(Session, "after_flush_postexec")
def _name_targets_flushed(session: Session, _flush_context) -> None:
    """Give events their target's id; commit flushes again, so the UPDATE goes in with them."""
    waiting = session.info.get(_UNNAMED)
    if not waiting:
        return
    still = []
    for event, target in waiting:
        if getattr(target, "id", None) is None:
            still.append((event, target))
        else:
            event.target_id = target.id
    session.info[_UNNAMED] = still


@sa.event.listens_for(Session, "after_commit")
@sa.event.listens_for(Session, "after_rollback")
def _forget_unnamed(session: Session) -> None:
    session.info.pop(_UNNAMED, None)
