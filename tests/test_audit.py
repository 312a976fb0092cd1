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


def test_the_audit_trail_filters_by_days_up_to_either_end_of_the_calendar(app, client, login):
    """A date typed at the calendar's ends (year 1, year 9999) is a filter, not a server error."""
    from schoolmgr.models import Role  # noqa: PLC0415

    module = Module(name="Human Ware", slug="human-ware")
    db.session.add(module)
    audit.record("module.created", target=module, summary="Human Ware added")
    db.session.commit()
    login(role=Role.STAFF)
    for query, shown in (
        ("date_from=0001-01-01&date_to=9999-12-31", True),
        ("date_to=9999-12-31", True),
        ("date_from=0001-01-01", True),
        ("date_from=0001-01-01&date_to=0001-01-01", False),
        ("date_from=9999-12-31", False),
    ):
        response = client.get(f"/staff/audit?{query}")
        assert response.status_code == 200, query
        assert ("Human Ware added" in response.text) is shown, query
