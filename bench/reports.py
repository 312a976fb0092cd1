"""Programme reports at scale: the reports page (time, SQL queries) and the funder PDF.

    .venv/bin/python bench/reports.py [--years 10] [--editions 40] [--participants 60]
                                      [--requests 7] [--database-url URL]

Fills YEARS x EDITIONS editions (past years) of five one-session modules each, with
PARTICIPANTS accepted registrations per edition drawn from a pool of people so that many come
back (default: 24,000 registrations, 120,000 attendance marks, certificates for most), with
bulk INSERTs. Then, as staff through the test client, requests the reports page unfiltered and
filtered and prints `page=NAME queries=Q median_ms=M cpu_ms=C`, renders the funder PDF once
(fonts loaded first, as in a running worker): `pdf_seconds=S pdf_cpu_seconds=C pdf_kb=K`, then
`xlsx_seconds=S`. cpu_ms is this process's CPU time: on a loaded machine it stays close to an
idle machine's wall time (with SQLite, which runs in the process), where median_ms does not.
Default database: a temporary SQLite file; a PostgreSQL URL is emptied and filled, so never
point it at data you care about.
"""

import argparse
import statistics
import sys
import tempfile
import time as clock
from datetime import date, time, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schoolmgr import create_app  # noqa: E402
from schoolmgr.extensions import db  # noqa: E402
from schoolmgr.models import (  # noqa: E402
    Attendance,
    AttendanceMethod,
    AttendanceStatus,
    Certificate,
    Country,
    Edition,
    EditionKind,
    EditionModule,
    EditionStatus,
    Gender,
    InstitutionType,
    Module,
    Registration,
    RegistrationStatus,
    Role,
    Session,
    User,
    registration_modules,
    utcnow,
)
from schoolmgr.timeutils import to_utc  # noqa: E402
from tests import factories  # noqa: E402
from tests.querycount import count_queries  # noqa: E402

MODULES_PER_EDITION = 5
CATALOGUE = 12
MARKS = [AttendanceStatus.PRESENT] * 7 + [
    AttendanceStatus.LATE,
    AttendanceStatus.EXCUSED,
    AttendanceStatus.ABSENT,
]


def _ids(statement) -> list[int]:
    return list(db.session.scalars(statement))


def build(years: int, per_year: int, participants: int) -> User:
    """Fill the database; return the staff user who reads the reports."""
    now = utcnow()
    first_year = now.year - years
    staff = factories.UserFactory(role=Role.STAFF, email="bench-staff@example.org")
    password = factories.password_hash()
    db.session.execute(
        sa.insert(Module),
        [{"name": f"Module {m:02d}", "slug": f"bench-module-{m}"} for m in range(CATALOGUE)],
    )
    module_ids = _ids(sa.select(Module.id).order_by(Module.id))
    kinds = list(EditionKind)
    editions = []
    for y in range(years):
        for e in range(per_year):
            start = date(first_year + y, 1, 10) + timedelta(days=8 * e)
            editions.append(
                {
                    "title": f"Bench school {first_year + y}-{e:02d}",
                    "slug": f"bench-{first_year + y}-{e}",
                    "kind": kinds[e % len(kinds)],
                    "start_date": start,
                    "end_date": start + timedelta(days=2),
                    "status": EditionStatus.ARCHIVED,
                    "module_choice": e % 4 == 0,
                }
            )
    db.session.execute(sa.insert(Edition), editions)
    edition_rows = db.session.execute(
        sa.select(Edition.id, Edition.start_date).order_by(Edition.id)
    ).all()
    db.session.execute(
        sa.insert(EditionModule),
        [
            {
                "edition_id": eid,
                "module_id": module_ids[(i + k) % CATALOGUE],
                "position": k,
            }
            for i, (eid, _start) in enumerate(edition_rows)
            for k in range(MODULES_PER_EDITION)
        ],
    )
    start_of = dict(edition_rows)
    em_rows = db.session.execute(
        sa.select(EditionModule.id, EditionModule.edition_id, EditionModule.position).order_by(
            EditionModule.id
        )
    ).all()
    sessions = []
    for em_id, edition_id, position in em_rows:
        begins = to_utc(start_of[edition_id], time(8 + 2 * position), "Europe/Belgrade")
        sessions.append(
            {
                "edition_module_id": em_id,
                "starts_at": begins,
                "ends_at": begins + timedelta(hours=2),
                "position": position,
                "checkin_secret": f"s{em_id}",
            }
        )
    db.session.execute(sa.insert(Session), sessions)
    session_of = dict(db.session.execute(sa.select(Session.edition_module_id, Session.id)).all())

    total = len(edition_rows) * participants
    pool = max(participants, int(total * 0.6))  # many people come back
    genders = [Gender.WOMAN, Gender.MAN, Gender.WOMAN, Gender.MAN, None, Gender.WOMAN, Gender.MAN]
    types = [*InstitutionType, None]
    countries = list(Country)
    db.session.execute(
        sa.insert(User),
        [
            {
                "email": f"bench{k}@example.org",
                "full_name": f"Participant {k:06d}",
                "password_hash": password,
                "role": Role.PARTICIPANT,
                "country": countries[k % len(countries)],
                "gender": genders[k % len(genders)],
                "institution_type": types[k % len(types)],
                "calendar_token": f"bench-token-{k}",
            }
            for k in range(pool)
        ],
    )
    user_ids = _ids(
        sa.select(User.id).where(User.email.like("bench%@example.org")).order_by(User.id)
    )
    registrations = []
    for i, (eid, _start) in enumerate(edition_rows):
        offset = (i * participants * 7) % pool
        chosen = {user_ids[(offset + j * 3) % pool] for j in range(participants)}
        registrations += [
            {
                "user_id": uid,
                "edition_id": eid,
                "status": RegistrationStatus.ACCEPTED,
                "consent_at": now,
            }
            for uid in sorted(chosen)
        ]
    db.session.execute(sa.insert(Registration), registrations)
    reg_rows = db.session.execute(
        sa.select(Registration.id, Registration.edition_id).order_by(Registration.id)
    ).all()
    ems_of: dict[int, list[int]] = {}
    for em_id, edition_id, _position in em_rows:
        ems_of.setdefault(edition_id, []).append(em_id)
    marks, certificates = [], []
    for n, (rid, eid) in enumerate(reg_rows):
        for k, em_id in enumerate(ems_of[eid]):
            marks.append(
                {
                    "session_id": session_of[em_id],
                    "registration_id": rid,
                    "status": MARKS[(n + k) % len(MARKS)],
                    "method": AttendanceMethod.TRAINER,
                    "recorded_at": now,
                }
            )
        if n % 10 < 7:
            certificates.append(
                {
                    "registration_id": rid,
                    "edition_id": eid,
                    "serial": f"BENCH-{rid}",
                    "verification_code": f"BENCH-CODE-{rid}",
                    "snapshot": {},
                    "pdf_name": f"bench-{rid}.pdf",
                    "sha256": "0" * 64,
                    "issued_at": now,
                }
            )
    choice = set(db.session.scalars(sa.select(Edition.id).where(Edition.module_choice.is_(True))))
    db.session.execute(
        sa.insert(registration_modules),
        [  # with module choice, each participant chose three of the five modules
            {"registration_id": rid, "edition_module_id": em_id}
            for n, (rid, eid) in enumerate(reg_rows)
            if eid in choice
            for k, em_id in enumerate(ems_of[eid])
            if (n + k) % 5 < 3
        ],
    )
    for chunk in range(0, len(marks), 20_000):
        db.session.execute(sa.insert(Attendance), marks[chunk : chunk + 20_000])
    db.session.execute(sa.insert(Certificate), certificates)
    db.session.commit()
    # Planner statistics, as autovacuum (PostgreSQL) or a periodic ANALYZE keep them in
    # production: without them PostgreSQL guesses a few dozen rows and picks nested loops.
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    print(
        f"editions={len(edition_rows)} people={pool} registrations={len(reg_rows)} "
        f"marks={len(marks)} certificates={len(certificates)}"
    )
    return staff


def measure(client, name: str, url: str, requests: int) -> None:
    client.get(url)  # templates compiled and statements cached, as in a running worker
    times, cpu = [], []
    for _ in range(requests):
        db.session.expire_all()
        with count_queries() as queries:
            start, start_cpu = clock.perf_counter(), clock.process_time()
            response = client.get(url)
            times.append((clock.perf_counter() - start) * 1000)
            cpu.append((clock.process_time() - start_cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    # cpu_ms: this process's CPU time (with SQLite, the database's work too). On a loaded
    # machine it stays near what an idle one would measure, where median_ms does not.
    print(
        f"page={name} queries={queries.count} median_ms={statistics.median(times):.0f} "
        f"cpu_ms={statistics.median(cpu):.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--editions", type=int, default=40, help="editions per year")
    parser.add_argument("--participants", type=int, default=60, help="per edition")
    parser.add_argument("--requests", type=int, default=7)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{tmp.name}/bench.sqlite3"
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "STORAGE_DIR": tmp.name, "RATELIMIT_ENABLED": False}
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        started = clock.perf_counter()
        staff = build(args.years, args.editions, args.participants)
        print(f"fill_seconds={clock.perf_counter() - started:.1f}")
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = staff.get_id()
        last_year = utcnow().year - 1
        measure(client, "reports", "/staff/reports/", args.requests)
        measure(
            client,
            "reports_filtered",
            f"/staff/reports/?year={last_year}&year={last_year - 1}&country=RS&country=XK",
            args.requests,
        )
        from schoolmgr import pdf

        pdf.warm_up("reports/_definitions.html", {}, ("css/report.css",))
        start, start_cpu = clock.perf_counter(), clock.process_time()
        response = client.get("/staff/reports/funder-report.pdf")
        seconds, cpu = clock.perf_counter() - start, clock.process_time() - start_cpu
        assert response.status_code == 200, response.status_code
        kb = len(response.data) // 1024
        print(f"pdf_seconds={seconds:.2f} pdf_cpu_seconds={cpu:.2f} pdf_kb={kb}")
        start = clock.perf_counter()
        response = client.get("/staff/reports/report.xlsx")
        assert response.status_code == 200
        print(f"xlsx_seconds={clock.perf_counter() - start:.2f}")
        db.session.remove()
        if args.database_url:
            db.drop_all()


if __name__ == "__main__":
    main()
