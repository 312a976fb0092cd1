"""One way to paginate: `paginate(what)` gives a Flask-SQLAlchemy Pagination (the same ?page=N,
page sizes, 404 out of range and template macro) for a select, a list already computed, a select
of plain rows, or one of the busiest public lists counted in the same query; a long list sorted
on a joined table can find its page's keys first, and a page whose total is known skips the
count."""

from collections.abc import Callable, Sequence
from functools import lru_cache

import sqlalchemy as sa
from flask import abort, current_app, request
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from schoolmgr import readonly
from schoolmgr.extensions import db

# Beyond this the offset would overflow the database driver's integers (a 500, not a 404).
MAX_PAGE = 2**31 - 1


def page_number() -> int:
    """The ?page=N of this request: 1 when absent; a 404 unless a whole number 1..MAX_PAGE."""
    raw = request.args.get("page")
    if raw is None or raw == "":
        return 1
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or not 1 <= int(raw) <= MAX_PAGE:
        abort(404)
    return int(raw)


def _page_args(per_page: int | None) -> dict:
    """The same for every list: ?page=N, the page size, and a 404 for a page out of range."""
    return {
        "page": page_number(),
        "per_page": per_page or current_app.config["PER_PAGE"],
        "max_per_page": 200,
        "error_out": True,
    }


def paginate(
    source: Select | Sequence,
    per_page: int | None = None,
    *,
    build: Callable[[list], list] | None = None,
    params: dict | None = None,
    rows: Select | None = None,
    total: int | None = None,
) -> Pagination:
    """Page through `source` using ?page=N; out-of-range pages give 404.

    `source` is a select of one entity (two queries a page), or a list already in memory. With
    `build`, a select of several columns whose page of rows `build` turns into what the template
    shows; its page and total come in one query. With `params` (its bind parameters, maybe none),
    a select built once per process, whose page and total come in one query too: the statements
    paging derives from it are then built once as well.

    With `rows` (a select of the rows whose keys are in the bind parameter `page_keys`, key
    first), `source` selects the list's keys in order: the page's keys are found first, then
    their rows, which `build` turns into what the template shows. Sorting a long list on a
    joined table then carries narrow rows, not every column of every row up to the page, and
    reading the rows by key alone takes the primary key's index, whatever the list's filters.
    With `total` (known already, e.g. from counts the page shows anyway), nothing is counted."""
    if not isinstance(source, Select):
        return ListPagination(**_page_args(per_page), items=source)
    if rows is not None:
        return KeysFirstPagination(
            **_page_args(per_page),
            select=source,
            params=params or {},
            rows=rows,
            total=total,
            build=build,
        )
    if build is not None or params is not None:
        return CountedPagination(
            **_page_args(per_page), select=source, params=params or {}, build=build
        )
    return db.paginate(source, **_page_args(per_page))


class ListPagination(Pagination):
    """A Pagination over a list already in memory (same page arguments and template macro)."""

    def _query_items(self) -> list:
        start = self._query_offset
        return list(self._query_args["items"][start : start + self.per_page])

    def _query_count(self) -> int:
        return len(self._query_args["items"])


class KeysFirstPagination(Pagination):
    """A pagination that finds the page's keys first (`select`, of the list's keys in order),
    then their rows (`rows`), which `build` turns into what the template shows; it takes a
    `total` known already instead of counting."""

    def _query_items(self) -> list:
        params = {
            **self._query_args["params"],
            "page_limit": self.per_page,
            "page_offset": self._query_offset,
        }
        keys = list(readonly.rows(_page_of(self._query_args["select"]), params).scalars())
        found = {}
        if keys:
            found = {
                row[0]: row for row in readonly.rows(self._query_args["rows"], {"page_keys": keys})
            }
        # In the list's order; a row deleted between the two statements is left out.
        return self._query_args["build"]([found[key] for key in keys if key in found])

    def _query_count(self) -> int:
        if self._query_args["total"] is not None:
            return self._query_args["total"]
        return _count(self._query_args["select"], self._query_args["params"])


class CountedPagination(Pagination):
    """A Pagination whose page query also counts the whole list: one round trip instead of two.
    The count is an uncorrelated scalar subquery, which the database runs once (an index or a
    narrow scan), not count(*) OVER (), which would carry every matching row through the window.
    A select of one entity gives its objects; a select of columns gives its rows (which carry the
    list's count as their last column, `total`), or what `build` makes of them."""

    def _query_items(self) -> list:
        select, build = self._query_args["select"], self._query_args["build"]
        params = {
            **self._query_args["params"],
            "page_limit": self.per_page,
            "page_offset": self._query_offset,
        }
        counted, of_columns = _counted_page(select)
        if of_columns:
            page = readonly.rows(counted, params).all()
        else:
            page = db.session.execute(counted, params).all()
        self._counted = page[0][-1] if page else None
        if build is not None:
            return build([row[:-1] for row in page])
        return page if of_columns else [row[0] for row in page]

    def _query_count(self) -> int:
        if self._counted is not None:
            return self._counted
        # An empty page: count separately (only ever 0 on page 1; other pages are a 404).
        return _count(self._query_args["select"], self._query_args["params"])


def _count(statement: Select, params: dict) -> int:
    return db.session.scalar(sa.select(_total_of(statement)), params)


def _total_of(statement: Select) -> sa.ScalarSelect:
    """How many rows `statement` gives, as a scalar subquery (the database runs it once)."""
    return (
        sa.select(sa.func.count())
        .select_from(statement.order_by(None).subquery())
        .scalar_subquery()
    )


# The statements paging derives from a select are kept for the select: for one built once per
# process, they are built (and their cache keys made) once too. The page's bounds (and keys) are
# bind parameters.
_PAGE_LIMIT = sa.bindparam("page_limit", type_=sa.Integer)
_PAGE_OFFSET = sa.bindparam("page_offset", type_=sa.Integer)


@lru_cache(maxsize=64)
def _counted_page(statement: Select) -> tuple[Select, bool]:
    """One page of `statement` with the whole list's count as its last column, and whether
    `statement` selects columns (its rows are the items) rather than one entity."""
    counted = (
        statement.add_columns(_total_of(statement).label("total"))
        .limit(_PAGE_LIMIT)
        .offset(_PAGE_OFFSET)
    )
    return counted, len(statement.column_descriptions) > 1


@lru_cache(maxsize=64)
def _page_of(statement: Select) -> Select:
    return statement.limit(_PAGE_LIMIT).offset(_PAGE_OFFSET)
