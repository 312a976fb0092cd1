"""Pages that only read run their queries without a transaction; such a page cannot write."""

import re

import pytest
import sqlalchemy as sa
from flask import request

from schoolmgr.auth.access import role_required
from schoolmgr.extensions import db
from schoolmgr.models import Module, Role
from schoolmgr.readonly import read_only, rows


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


def test_a_signed_in_read_only_page_refuses_writes_on_get_and_stores_them_on_post(
    app, client, login
):
    """Above the role check, `read_only` holds for a signed-in user too: on GET the request
    cannot write; a form posted to the same view runs in a transaction as usual, and its
    write is stored."""

    def notes():
        db.session.add(Module(name=f"Written on {request.method}", slug=request.method.lower()))
        db.session.commit()
        return "stored"

    view = read_only(role_required(Role.STAFF)(notes))
    app.add_url_rule("/_staff_notes", "staff_notes", view, methods=["GET", "POST"])
    login(role=Role.STAFF)
    db.session.commit()

    with pytest.raises(RuntimeError, match="read_only view tried to write"):
        client.get("/_staff_notes")
    db.session.rollback()
    assert client.post("/_staff_notes").text == "stored"
    names = db.session.scalars(sa.select(Module.name)).all()
    assert names == ["Written on POST"]
    # Not signed in: sent to sign in.
    with client.session_transaction() as session:
        session.clear()
    assert client.get("/_staff_notes").status_code == 302


def test_the_staff_list_and_the_roster_read_everything_outside_a_transaction_on_get(
    client, login, make_edition, make_edition_module, make_session, make_user
):
    """The two busiest staff pages: every statement of a GET, the user's loading included,
    runs in autocommit mode; posting marks to the roster runs in a transaction."""
    trainer = make_user(role=Role.TRAINER)
    edition = make_edition()
    session = make_session(edition_module=make_edition_module(edition=edition, trainers=[trainer]))
    staff_list = f"/staff/editions/{edition.slug}/registrations"
    roster = f"/trainer/sessions/{session.id}"
    modes = []

    def record(conn, _cursor, _statement, _params, _context, _executemany):
        modes.append(conn.get_execution_options().get("isolation_level"))

    def get(url):
        db.session.commit()  # a request begins with no transaction (the test shares its session)
        modes.clear()
        return client.get(url)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        login(role=Role.STAFF)
        for url in (staff_list, roster):
            assert get(url).status_code == 200
            assert modes and set(modes) == {"AUTOCOMMIT"}, url
        login(trainer)
        page = get(roster)
        assert page.status_code == 200 and set(modes) == {"AUTOCOMMIT"}
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.text)
        db.session.commit()
        modes.clear()
        client.post(
            roster,
            data={"csrf_token": token.group(1) if token else "", "method": "trainer"},
        )
        assert modes and "AUTOCOMMIT" not in modes
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def test_rows_of_a_read_only_page_are_what_the_session_would_give(app, client):
    """`rows` reads straight from the connection in a read-only view (nothing to flush there)
    and through the session elsewhere, where a request's own unsaved change is seen."""
    db.session.add(Module(name="Agile", slug="agile"))
    db.session.commit()

    def names():
        if request.method == "POST":
            db.session.add(Module(name="Remote Teams", slug="remote-teams"))  # not flushed yet
        found = rows(sa.select(Module.name, Module.slug).order_by(Module.name)).all()
        return "; ".join(f"{name} ({slug})" for name, slug in found)

    app.add_url_rule("/_names", "names", read_only(names), methods=["GET", "POST"])

    # The tests share one session with the requests: ending its transaction after each request
    # gives back the connection, as the end of a request does.
    assert client.get("/_names").text == "Agile (agile)"
    db.session.rollback()
    assert client.post("/_names").text == "Agile (agile); Remote Teams (remote-teams)"
    db.session.rollback()  # the post did not commit
    assert client.get("/_names").text == "Agile (agile)"
