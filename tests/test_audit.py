"""Audit events name their target by id, even a target added in the same transaction."""

import sqlalchemy as sa

from schoolmgr import audit
from schoolmgr.extensions import db
from schoolmgr.models import AuditEvent, Module


def test_an_event_names_a_target_that_gets_its_id_only_at_the_commit(app):
    module = Module(name="Resilience & Wellbeing", slug="resilience")
    db.session.add(module)
    audit.record("module.created", target=module, summary="new module")
    assert module.id is None  # nothing flushed yet
    db.session.commit()

    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "module.created"))
    assert (event.target_type, event.target_id) == ("module", module.id)


def test_a_rolled_back_transaction_leaves_nothing_waiting_for_the_next(app):
    module = Module(name="Remote Teams", slug="remote-teams")
    db.session.add(module)
    audit.record("module.created", target=module)
    db.session.rollback()

    other = Module(name="Crisis Communication", slug="crisis-communication")
    db.session.add(other)
    audit.record("module.created", target=other)
    db.session.commit()
    events = db.session.execute(sa.select(AuditEvent.target_id)).scalars().all()
    assert events == [other.id]
