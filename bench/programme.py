"""People search, conflict detection and duplication on a large school.

    .venv/bin/python bench/programme.py [--database-url URL] [--users 50000] [--repeat 20]

Fills a fresh database (a temporary SQLite file unless --database-url is given; the schema is
dropped and recreated, never point it at data you care about) with N users (a twentieth of them
named Čolić) and 300 editions x 6 modules x 4 sessions with trainers, then prints the median and
worst time in ms of:
  search   the People list query for "colic" (count + first page of 25), folded search
  filter   the People list query for role=trainer, active
  conflict find_conflicts for a new session of a busy trainer (trainer and room checks)
  duplicate duplicate_edition of a 6-module, 24-session edition (rolled back each time)
"""

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn, repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs), max(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"

    import sqlalchemy as sa

    from schoolmgr import create_app
    from schoolmgr.extensions import db
    from schoolmgr.models import Edition, EditionModule, Module, Role, Session, User
    from schoolmgr.people.services import users_query
    from schoolmgr.programme import editions, sessions
    from schoolmgr.text import fold
    from schoolmgr.timeutils import to_utc

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context(), app.test_request_context():
        db.drop_all()
        db.create_all()
        rows = []
        for n in range(args.users):
            name = f"Đorđe Čolić {n}" if n % 20 == 0 else f"Participant Number {n}"
            email = f"user{n}@example.org"
            rows.append(
                {
                    "email": email,
                    "full_name": name,
                    "search_key": fold(f"{name} {email} Ministry"),
                    "role": "trainer" if n % 100 == 0 else "participant",
                    "institution": "Ministry",
                    "position": "",
                    "preferred_language": "en",
                    "active": True,
                    "session_version": 1,
                    "calendar_token": f"tok{n}",
                }
            )
        db.session.execute(sa.insert(User), rows)
        trainers = db.session.scalars(sa.select(User).where(User.role == Role.TRAINER)).all()
        modules = [Module(name=f"Module {i}", slug=f"module-{i}") for i in range(40)]
        db.session.add_all(modules)
        start = date(2027, 1, 4)
        for e in range(300):
            day = start + timedelta(days=7 * (e % 50))
            edition = Edition(
                title=f"Edition {e}",
                slug=f"edition-{e}",
                start_date=day,
                end_date=day + timedelta(days=4),
                venue=f"Venue {e % 5}",
            )
            db.session.add(edition)
            for m in range(6):
                em = EditionModule(
                    edition=edition,
                    module=modules[(e + m) % 40],
                    position=m,
                    trainers=[trainers[(e * 6 + m) % len(trainers)]],
                )
                db.session.add(em)
                for s in range(4):
                    begins = to_utc(day + timedelta(days=s), dtime(9 + m), "Europe/Belgrade")
                    db.session.add(
                        Session(
                            edition_module=em,
                            starts_at=begins,
                            ends_at=begins + timedelta(hours=1),
                            room=f"Room {m}",
                        )
                    )
        db.session.commit()

        def search():
            query = users_query("colic")
            db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
            db.session.scalars(query.limit(25)).all()

        def role_filter():
            query = users_query(None, "trainer", "yes")
            db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
            db.session.scalars(query.limit(25)).all()

        busy_em = db.session.scalars(sa.select(EditionModule).limit(1)).one()

        def conflict():
            begins = to_utc(busy_em.edition.start_date, dtime(9, 30), "Europe/Belgrade")
            found = sessions.find_conflicts(busy_em, begins, begins + timedelta(hours=2), "Room 0")
            assert found

        source = db.session.get(Edition, 1)

        def duplicate():
            # Measure the copy without committing: the service commits, so stub it once.
            commit = db.session.commit
            db.session.commit = db.session.flush
            try:
                editions.duplicate_edition(
                    source, title="Copy", slug="copy-bench", start_date=date(2030, 1, 7)
                )
            finally:
                db.session.commit = commit
                db.session.rollback()

        print(f"database={db.engine.dialect.name} users={args.users} editions=300 sessions=7200")
        for label, fn in [
            ("search", search),
            ("filter", role_filter),
            ("conflict", conflict),
            ("duplicate", duplicate),
        ]:
            median, worst = timed(fn, args.repeat)
            print(f"{label}: median_ms={median:.1f} max_ms={worst:.1f}")


if __name__ == "__main__":
    main()
