"""Public pages that only read run their queries without a transaction; such a page cannot write."""

import pytest
import sqlalchemy as sa

from schoolmgr.extensions import db
from schoolmgr.models import Module
from schoolmgr.readonly import read_only


def test_a_read_only_page_that_tries_to_write_is_refused_and_stores_nothing(app, client):
    def careless():
        db.session.add(Module(name="Written by a read-only page", slug="written"))
        db.session.commit()
        return "stored"

    app.add_url_rule("/_careless", "careless", read_only(careless))

    with pytest.raises(RuntimeError, match="read_only view tried to write"):
        client.get("/_careless")  # a 500 for a visitor; the test client passes the error on

    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Module)) == 0
    # The next page of the same session may write again.
    db.session.add(Module(name="Written by a service", slug="written"))
    db.session.commit()


def test_a_read_only_page_runs_each_query_outside_a_transaction(app, client, make_edition):
    """In a transaction, now() stays the time of its first statement; without one, each
    statement is its own, so now() moves on (PostgreSQL; SQLite has no such clock)."""
    is_postgres = db.engine.dialect.name == "postgresql"
    clock = "now() = statement_timestamp()" if is_postgres else "1"

    def own_snapshots():
        db.session.execute(sa.text("SELECT pg_sleep(0.01)" if is_postgres else "SELECT 1"))
        return str(db.session.scalar(sa.text(f"SELECT {clock}")))

    app.add_url_rule("/_read_only", "read_only_view", read_only(own_snapshots))
    app.add_url_rule("/_in_transaction", "transaction_view", own_snapshots)
    db.session.commit()  # the test's own session holds no transaction, as a request's would not

    assert client.get("/_read_only").text in ("True", "1")
    db.session.commit()
    if is_postgres:
        assert client.get("/_in_transaction").text == "False"
    # And the public pages, read-only, still answer.
    slug = make_edition(title="Rapid Innovation Lab").slug
    db.session.commit()
    assert "Rapid Innovation Lab" in client.get(f"/editions/{slug}").text
    assert "Rapid Innovation Lab" in client.get("/").text
