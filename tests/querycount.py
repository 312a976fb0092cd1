"""Count the SQL statements a block of code sends, to prove list pages have no N+1 queries.

    with count_queries() as queries:
        client.get("/")
    assert queries.count == 4, queries.statements

Counts every statement on every engine (SQLAlchemy `before_cursor_execute`), except
SAVEPOINT/RELEASE bookkeeping.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine


@dataclass
class QueryLog:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    def __str__(self) -> str:
        return f"{self.count} queries:\n" + "\n".join(
            f"  {n}. {s[:200]}" for n, s in enumerate(self.statements, 1)
        )


_IGNORED_PREFIXES = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@contextmanager
def count_queries() -> Iterator[QueryLog]:
    log = QueryLog()

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(_IGNORED_PREFIXES):
            log.statements.append(" ".join(statement.split()))

    sa.event.listen(Engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield log
    finally:
        sa.event.remove(Engine, "before_cursor_execute", before_cursor_execute)
