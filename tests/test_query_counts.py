"""List pages load in a fixed number of SQL queries, whatever the number of rows.

Each test builds the page's data at 10 rows, counts the queries of one request, grows the data
to 200 rows and requires the same count. To cover a new list page, add a test that calls
`assert_same_query_count(client, url, grow)` with a `grow(n)` that brings the page to n rows.
"""

from collections.abc import Callable
from datetime import time, timedelta

import pytest

from schoolmgr.extensions import db
from schoolmgr.models import (
    Attendance,
    AttendanceMethod,
    AttendanceStatus,
    Edition,
    EditionModule,
    Module,
    Registration,
    RegistrationStatus,
    Role,
    Session,
    User,
    utcnow,
)
from schoolmgr.timeutils import to_utc
from tests import factories
from tests.querycount import count_queries

SMALL, LARGE = 10, 200


def assert_same_query_count(client, url: str, grow: Callable[[int], None]) -> None:
    grow(SMALL)
    db.session.expire_all()
    with count_queries() as small:
        first = client.get(url)
    assert first.status_code == 200, url
    grow(LARGE)
    db.session.expire_all()
    with count_queries() as large:
        second = client.get(url)
    assert second.status_code == 200, url
    assert large.count == small.count, f"{url}\nwith {SMALL} rows: {small}\nwith {LARGE}: {large}"


# Bulk builders: plain ORM objects added in one commit (the factories commit one by one).
_counter = iter(range(10**9))


def add_users(n: int, role: Role = Role.PARTICIPANT) -> list[User]:
    users = []
    for _ in range(n):
        k = next(_counter)
        users.append(
            User(
                email=f"bulk{k}@example.org",
                full_name=f"Bulk Person {k}",
                role=role,
                password_hash=factories.password_hash(),
            )
        )
    db.session.add_all(users)
    db.session.flush()
    return users


def add_registrations(
    edition: Edition, n: int, status=RegistrationStatus.ACCEPTED
) -> list[Registration]:
    registrations = [
        Registration(user=user, edition=edition, status=status, consent_at=utcnow())
        for user in add_users(n)
    ]
    db.session.add_all(registrations)
    db.session.commit()
    return registrations


def grow_to(current: list, n: int, make: Callable[[int], list]) -> None:
    """Extend `current` to `n` items with `make(missing)`."""
    if len(current) < n:
        current.extend(make(n - len(current)))


# Public pages


def test_home_page(client, make_edition):
    editions: list[Edition] = []

    def make(missing: int) -> list[Edition]:
        made = []
        for i in range(missing):
            edition = make_edition(past=(i % 2 == 0))
            made.append(edition)
        for edition in made[:3]:
            add_registrations(edition, 2)
        return made

    assert_same_query_count(client, "/", lambda n: grow_to(editions, n, make))


@pytest.mark.parametrize("signed_in", [False, True])
def test_edition_page(client, login, make_edition, signed_in):
    edition = make_edition()
    if signed_in:
        participant = login()
        add = Registration(user=participant, edition=edition, consent_at=utcnow())
        db.session.add(add)
        db.session.commit()
    trainers = add_users(20, Role.TRAINER)
    sessions: list[Session] = []

    def make(missing: int) -> list[Session]:
        made = []
        for _ in range(missing):
            k = next(_counter)
            module = Module(name=f"Module {k}", slug=f"bulk-module-{k}")
            edition_module = EditionModule(edition=edition, module=module, position=k)
            edition_module.trainers.extend(trainers[k % 20 : k % 20 + 2])
            start = to_utc(edition.start_date, time(9 + k % 8), edition.timezone)
            session = Session(
                edition_module=edition_module, starts_at=start, ends_at=start + timedelta(hours=2)
            )
            made.append(session)
        db.session.add_all(made)
        db.session.commit()
        return made

    assert_same_query_count(
        client, f"/editions/{edition.slug}", lambda n: grow_to(sessions, n, make)
    )


def test_module_catalogue(client):
    modules: list[Module] = []

    def make(missing: int) -> list[Module]:
        made = []
        for _ in range(missing):
            k = next(_counter)
            made.append(Module(name=f"Module {k}", slug=f"cat-module-{k}"))
        db.session.add_all(made)
        db.session.commit()
        return made

    assert_same_query_count(client, "/modules", lambda n: grow_to(modules, n, make))


def test_privacy_export(client, login, make_edition):
    user = login()
    registrations: list[Registration] = []

    def make(missing: int) -> list[Registration]:
        made = []
        for _ in range(missing):
            edition = make_edition(past=True)
            registration = Registration(user=user, edition=edition, consent_at=utcnow())
            session = factories.SessionFactory(edition_module__edition=edition)
            db.session.add(registration)
            db.session.add(
                Attendance(
                    session=session,
                    registration=registration,
                    status=AttendanceStatus.PRESENT,
                    method=AttendanceMethod.TRAINER,
                )
            )
            made.append(registration)
        db.session.commit()
        return made

    # Export is one response, not paginated, but it still must not query per row.
    grow = lambda n: grow_to(registrations, n // 10, make)  # noqa: E731
    assert_same_query_count(client, "/privacy/export.json", grow)
