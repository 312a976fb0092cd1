"""List pages load in a fixed number of SQL queries, whatever the number of rows.

Each test builds the page's data at 10 rows, counts the queries of one request, grows the data
to 200 rows and requires the same count. To cover a new list page, add a test that calls
`assert_same_query_count(client, url, grow)` with a `grow(n)` that brings the page to n rows.
"""

from collections.abc import Callable
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from schoolmgr.extensions import db
from schoolmgr.models import (
    Attendance,
    AttendanceMethod,
    AttendanceStatus,
    Certificate,
    Country,
    Edition,
    EditionModule,
    EditionStatus,
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


# Staff, trainer and participant lists


@pytest.fixture
def school(make_edition, make_edition_module, make_session, make_user):
    """An edition with one module, its trainer and a session; grows registrations on demand."""
    trainer = make_user(role=Role.TRAINER)
    edition = make_edition(series="digital-transformation")
    edition_module = make_edition_module(edition=edition, trainers=[trainer])
    session = make_session(edition_module=edition_module)
    registrations: list[Registration] = []

    def grow(n: int) -> None:
        missing = n - len(registrations)
        if missing <= 0:
            return
        made = add_registrations(edition, missing)
        for k, registration in enumerate(made):
            registration.user.country = list(Country)[k % len(Country)]
            registration.modules.append(edition_module)
            db.session.add(
                Attendance(
                    session=session,
                    registration=registration,
                    status=AttendanceStatus.PRESENT,
                    method=AttendanceMethod.TRAINER,
                )
            )
            db.session.add(
                Certificate(
                    registration=registration,
                    serial=f"QC-{registration.id}",
                    verification_code=f"QC{registration.id:018d}",
                    snapshot={"name": registration.user.full_name},
                    pdf_name=f"qc-{registration.id}.pdf",
                    sha256="0" * 64,
                )
            )
        db.session.commit()
        registrations.extend(made)

    return _Namespace(
        edition=edition, edition_module=edition_module, session=session, trainer=trainer, grow=grow
    )


class _Namespace:
    def __init__(self, **values):
        self.__dict__.update(values)


STAFF_LISTS = [
    ("registration.staff_list", lambda s: {"slug": s.edition.slug}),
    ("registration.staff_overview", lambda s: {"slug": s.edition.slug}),
    ("registration.staff_export_csv", lambda s: {"slug": s.edition.slug}),
    ("certificates.eligibility", lambda s: {"slug": s.edition.slug}),
    ("certificates.issued", lambda s: {"slug": s.edition.slug}),
    ("attendance.edition_summary", lambda s: {"slug": s.edition.slug}),
    ("attendance.edition_summary_csv", lambda s: {"slug": s.edition.slug}),
    ("attendance.roster", lambda s: {"session_id": s.session.id}),
    ("attendance.module_summary", lambda s: {"edition_module_id": s.edition_module.id}),
    ("trainer.module", lambda s: {"edition_module_id": s.edition_module.id}),
    ("programme.edition", lambda s: {"slug": s.edition.slug}),
    ("people.users", lambda s: {}),
    ("audit.events", lambda s: {}),
]


@pytest.mark.parametrize(("endpoint", "args"), STAFF_LISTS, ids=[e for e, _ in STAFF_LISTS])
def test_staff_list_pages_grow_without_more_queries(app, client, login, school, endpoint, args):
    if endpoint not in app.view_functions:
        pytest.skip(f"{endpoint} is not there yet")
    login(role=Role.STAFF)
    from flask import url_for

    with app.test_request_context():
        url = url_for(endpoint, **args(school))

    def grow(n: int) -> None:
        school.grow(n)
        if endpoint == "audit.events":
            from schoolmgr.models import AuditEvent

            have = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
            db.session.add_all(
                AuditEvent(action="registration.accepted", summary=f"event {k}")
                for k in range(n - have)
            )
            db.session.commit()

    assert_same_query_count(client, url, grow)


@pytest.mark.parametrize("module_choice", [True, False])
def test_trainer_module_summary_page_two(app, client, login, school, module_choice):
    """The trainer's module attendance summary, a later page: one page of participants is
    tallied, the rate is counted over all of them, in the same queries at 10 and 200."""
    school.edition.module_choice = module_choice
    db.session.commit()
    app.config["PER_PAGE"] = 5
    login(school.trainer)
    url = f"/trainer/modules/{school.edition_module.id}/attendance?page=2"
    assert_same_query_count(client, url, school.grow)
    page = client.get(url).get_data(as_text=True)
    assert "Participants (200)" in page and "6–10 of 200" in page
    assert "200 / 200" in page  # the rate: everyone present at the one session


def test_staff_edition_and_module_lists(app, client, login, make_edition):
    login(role=Role.STAFF)
    editions: list[Edition] = []
    modules: list[Module] = []

    def grow(n: int) -> None:
        grow_to(editions, n, lambda missing: [make_edition() for _ in range(missing)])

        def more_modules(missing: int) -> list[Module]:
            made = [
                Module(name=f"Module {k}", slug=f"staff-module-{k}")
                for k in (next(_counter) for _ in range(missing))
            ]
            db.session.add_all(made)
            db.session.commit()
            return made

        grow_to(modules, n, more_modules)

    for url in ("/staff/editions", "/staff/modules"):
        editions.clear()
        modules.clear()
        assert_same_query_count(client, url, grow)


def test_participant_pages(app, client, login, make_edition):
    user = login()
    registrations: list[Registration] = []

    def make(missing: int) -> list[Registration]:
        made = []
        for _ in range(missing):
            edition = make_edition(past=True)
            registration = Registration(user=user, edition=edition, consent_at=utcnow())
            db.session.add(registration)
            db.session.flush()
            db.session.add(
                Certificate(
                    registration=registration,
                    serial=f"PC-{registration.id}",
                    verification_code=f"PC{registration.id:018d}",
                    snapshot={"name": user.full_name},
                    pdf_name=f"pc-{registration.id}.pdf",
                    sha256="0" * 64,
                )
            )
            made.append(registration)
        db.session.commit()
        return made

    for url in ("/me/registrations", "/me/certificates"):
        registrations.clear()
        assert_same_query_count(client, url, lambda n: grow_to(registrations, n // 10, make))


def test_trainer_home(app, client, make_user, make_edition_module):
    trainer = make_user(role=Role.TRAINER)
    with client.session_transaction() as session:
        session["_user_id"] = trainer.get_id()
    modules: list = []

    def make(missing: int) -> list:
        return [make_edition_module(trainers=[trainer]) for _ in range(missing)]

    assert_same_query_count(client, "/trainer/", lambda n: grow_to(modules, n // 10, make))


def test_series_page(client, make_edition):
    editions: list[Edition] = []

    def make(missing: int) -> list[Edition]:
        return [make_edition(series="digital-transformation", past=True) for _ in range(missing)]

    assert_same_query_count(
        client, "/series/digital-transformation", lambda n: grow_to(editions, n // 4, make)
    )


def test_certificate_eligibility_past_batch_sizes(app, client, login, school):
    """Past 500 registrations (SQLAlchemy's IN batch size) the page still sends the same
    queries: only one page of rows is loaded, the whole edition is counted in bulk."""
    login(role=Role.STAFF)
    url = f"/staff/editions/{school.edition.slug}/certificates"
    school.grow(SMALL)
    db.session.expire_all()
    with count_queries() as small:
        assert client.get(url).status_code == 200
    school.grow(600)
    db.session.expire_all()
    with count_queries() as large:
        page = client.get(url + "?page=3")
    assert page.status_code == 200
    assert "600 accepted participants" in page.get_data(as_text=True)
    assert large.count == small.count, f"{small}\n{large}"


@pytest.mark.parametrize(
    "url",
    [
        "/staff/reports/",
        "/staff/reports/?year=2019&year=2020&country=RS&kind=seasonal_school",
        "/staff/reports/report.xlsx",
    ],
)
def test_programme_reports(client, login, url):
    """Editions of several years with modules, sessions, registrations and marks: same count."""
    from datetime import date

    from schoolmgr.models import Gender

    login(role="staff")
    editions: list[Edition] = []

    def make(missing: int) -> list[Edition]:
        made = []
        for i in range(missing):
            k = next(_counter)
            start = date(2019 + i % 3, 9, 1 + i % 20)
            edition = Edition(
                title=f"School {k}",
                slug=f"report-school-{k}",
                start_date=start,
                end_date=start,
                status=EditionStatus.ARCHIVED,
                module_choice=i % 2 == 0,
            )
            module = Module(name=f"Module {k}", slug=f"report-module-{k}")
            em = EditionModule(edition=edition, module=module)
            begins = to_utc(start, time(9), "Europe/Belgrade")
            session = Session(
                edition_module=em, starts_at=begins, ends_at=begins + timedelta(hours=2)
            )
            db.session.add_all([edition, em, session])
            for user in add_users(2):
                user.country = Country.SERBIA if i % 2 else Country.KOSOVO
                user.gender = Gender.WOMAN if i % 3 else None
                registration = Registration(
                    user=user,
                    edition=edition,
                    status=RegistrationStatus.ACCEPTED,
                    consent_at=utcnow(),
                )
                registration.modules = [em]
                db.session.add(registration)
                db.session.add(
                    Attendance(
                        session=session,
                        registration=registration,
                        status=AttendanceStatus.PRESENT,
                        method=AttendanceMethod.TRAINER,
                    )
                )
            made.append(edition)
        db.session.commit()
        return made

    assert_same_query_count(client, url, lambda n: grow_to(editions, n, make))
