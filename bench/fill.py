"""Bulk data for benchmarks: plain INSERTs, not the ORM one object at a time."""

import sqlalchemy as sa

from schoolmgr.extensions import db
from schoolmgr.models import Registration, RegistrationStatus, Role, User, utcnow


def accepted_participants(edition_id: int, people: list[dict]) -> list[int]:
    """Insert participants (emails must start with "bench") accepted to the edition.

    `people` are User column values; returns the new registration ids in user order.
    """
    db.session.execute(sa.insert(User), [{"role": Role.PARTICIPANT, **p} for p in people])
    user_ids = db.session.scalars(
        sa.select(User.id).where(User.email.like("bench%@example.org")).order_by(User.id)
    ).all()
    now = utcnow()
    db.session.execute(
        sa.insert(Registration),
        [
            {
                "user_id": uid,
                "edition_id": edition_id,
                "status": RegistrationStatus.ACCEPTED,
                "consent_at": now,
            }
            for uid in user_ids
        ],
    )
    return list(
        db.session.scalars(
            sa.select(Registration.id)
            .where(Registration.edition_id == edition_id)
            .order_by(Registration.id)
        )
    )
