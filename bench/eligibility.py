"""Certificate eligibility page of one large edition: time and SQL queries per request.

    .venv/bin/python bench/eligibility.py [--registrations 5000] [--database-url URL]

Builds an edition with two modules (one mandatory) of five sessions each and N accepted
participants with their marks (bulk inserts), then requests /staff/editions/<slug>/certificates
(page 1 and a middle page) as staff through the test client and prints
`page=N registrations=N queries=Q median_ms=X`. Default database: a temporary SQLite file; a
PostgreSQL URL is emptied and filled, so never point it at data you care about.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fill import accepted_participants  # noqa: E402
from schoolmgr import create_app  # noqa: E402
from schoolmgr.extensions import db  # noqa: E402
from schoolmgr.models import (  # noqa: E402
    Attendance,
    AttendanceMethod,
    AttendanceStatus,
    Role,
    User,
    utcnow,
)
from tests import factories  # noqa: E402
from tests.querycount import count_queries  # noqa: E402


def build(n: int) -> tuple[str, User]:
    edition = factories.EditionFactory(past=True, slug="bench-eligibility")
    sessions = []
    for mandatory in (False, True):
        em = factories.EditionModuleFactory(edition=edition, mandatory=mandatory)
        sessions += [factories.SessionFactory(edition_module=em) for _ in range(5)]
    staff = factories.UserFactory(role=Role.STAFF)
    password = factories.password_hash()
    now = utcnow()
    reg_ids = accepted_participants(
        edition.id,
        [
            {
                "email": f"bench{k}@example.org",
                "full_name": f"Participant {k:05d}",
                "password_hash": password,
            }
            for k in range(n)
        ],
    )
    statuses = [AttendanceStatus.PRESENT] * 8 + [AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED]
    db.session.execute(
        sa.insert(Attendance),
        [
            {
                "session_id": s.id,
                "registration_id": rid,
                "status": statuses[(i + rid) % len(statuses)],
                "method": AttendanceMethod.TRAINER,
                "recorded_at": now,
            }
            for rid in reg_ids
            for i, s in enumerate(sessions)
        ],
    )
    db.session.commit()
    return edition.slug, staff


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--registrations", type=int, default=5000)
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{tmp.name}/bench.sqlite3"
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "STORAGE_DIR": tmp.name, "RATELIMIT_ENABLED": False}
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        slug, staff = build(args.registrations)
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = staff.get_id()
        per_page = app.config["PER_PAGE"]
        middle = max(1, args.registrations // per_page // 2)
        for page in (1, middle):
            target = f"/staff/editions/{slug}/certificates?page={page}"
            times = []
            for _ in range(args.requests):
                db.session.expire_all()
                with count_queries() as queries:
                    start = time.perf_counter()
                    response = client.get(target)
                    times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, response.status_code
            print(
                f"page={page} registrations={args.registrations} queries={queries.count} "
                f"median_ms={statistics.median(times):.0f}"
            )
        db.session.remove()
        if args.database_url:
            db.drop_all()


if __name__ == "__main__":
    main()
