"""Pages that only read: their queries run without a transaction.

A request's session begins a transaction on its first query and rolls it back at the end: two
round trips to the database (BEGIN, ROLLBACK) besides the queries. A page that only reads does not
need them: under PostgreSQL's READ COMMITTED each statement sees its own snapshot either way. The
public pages that crowds load (home, edition) spend about a tenth of their work on those round
trips, in the app and in PostgreSQL. Without the rollback, the connection also keeps the
statements the driver has prepared (psycopg prepares a statement run five times, and forgets them
all on a rollback): PostgreSQL then no longer plans them anew on each visit.

In such a view, `rows` reads a select of columns straight from the connection: with nothing to
flush, the session's ORM execution path (its compile state, events and result adapting) is only
overhead, about half a million instructions a statement (the home page's two: a twentieth of it).

A view marked `read_only` that tries to write is refused (RuntimeError, a 500): its statements
would each commit on their own, so a failure half-way would leave half the change. Only GET (and
HEAD) requests are read-only: a form posted to the same view runs in a transaction as usual.
"""

from collections.abc import Callable
from functools import wraps

import sqlalchemy as sa
from flask import request
from sqlalchemy.orm import Session

from schoolmgr.extensions import db

_READ_ONLY = "schoolmgr_read_only"


def read_only(view: Callable) -> Callable:
    """Run `view`'s queries of a GET request in autocommit mode when they are the request's
    first use of the database. Placed above a role check, that includes loading the signed-in
    user; below one, the user's loading has begun a transaction already, and the view runs in
    it, as any other. The session keeps the connection until the request ends, and the pool
    gives it back its usual transactions then."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        session = db.session()
        if request.method not in ("GET", "HEAD") or session.in_transaction():
            return view(*args, **kwargs)
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        session.info[_READ_ONLY] = True
        try:
            return view(*args, **kwargs)
        finally:
            del session.info[_READ_ONLY]

    return wrapped


def rows(statement: sa.Select, params: dict | None = None) -> sa.CursorResult:
    """The rows of `statement`, a select of columns (not of ORM entities): in a `read_only`
    view from the session's connection, elsewhere through the session (which first flushes
    what the request has changed)."""
    session = db.session()
    if session.info.get(_READ_ONLY):
        return session.connection().execute(statement, params or {})
    return session.execute(statement, params or {})


def _refuse(session: Session) -> None:
    if session.info.get(_READ_ONLY):
        raise RuntimeError("a read_only view tried to write to the database")


@sa.event.listens_for(Session, "before_flush")
def _no_flush_when_read_only(session, _flush_context, _instances) -> None:
    _refuse(session)


@sa.event.listens_for(Session, "do_orm_execute")
def _no_dml_when_read_only(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _refuse(state.session)
