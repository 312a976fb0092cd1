"""Recording audit events. Services call `record` before they commit."""

from flask_login import current_user

from schoolmgr.extensions import db
from schoolmgr.models import AuditEvent, User


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
    return event
