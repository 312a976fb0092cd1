"""One way to paginate: a select statement in, a Flask-SQLAlchemy Pagination out."""

from collections.abc import Sequence

from flask import current_app, request
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from schoolmgr.extensions import db


def paginate(statement: Select, per_page: int | None = None) -> Pagination:
    """Page through `statement` using ?page=N; out-of-range pages give 404."""
    return db.paginate(
        statement,
        page=request.args.get("page", 1, type=int),
        per_page=per_page or current_app.config["PER_PAGE"],
        max_per_page=200,
        error_out=True,
    )


class ListPagination(Pagination):
    """A Pagination over a list already in memory (same page arguments and template macro)."""

    def _query_items(self) -> list:
        start = self._query_offset
        return list(self._query_args["items"][start : start + self.per_page])

    def _query_count(self) -> int:
        return len(self._query_args["items"])


def paginate_list(items: Sequence, per_page: int | None = None) -> Pagination:
    """Page through a computed list like `paginate` does a select: ?page=N, 404 out of range."""
    return ListPagination(
        page=request.args.get("page", 1, type=int),
        per_page=per_page or current_app.config["PER_PAGE"],
        max_per_page=200,
        error_out=True,
        items=items,
    )
