"""Burst of concurrent registrations for one open edition, on PostgreSQL.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/schoolmgr_bench \
        .venv/bin/python bench/registration_burst.py [--registrations 200] [--seats 20]

Creates the database if missing and REBUILDS ITS SCHEMA (use a database of its own, never a
real one), adds an open edition and one participant per registration, then releases every
registration at once, each in its own thread, app context, session and connection, as requests
served by different workers would be. It checks that the capacity held and that the waiting list
is numbered 1..N. The last line is
`accepted=N waitlisted=N errors=N seconds=S registrations_per_s=R`.
"""

import argparse
import os
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/schoolmgr_bench"


def ensure_database(url: str) -> None:
    parsed = make_url(url)
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        )
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registrations", type=int, default=200)
    parser.add_argument("--seats", type=int, default=20)
    parser.add_argument("--pool", type=int, default=40, help="database connections (pool size)")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgresql"):
        parser.error("DATABASE_URL must point at PostgreSQL")
    ensure_database(url)

    from schoolmgr import create_app
    from schoolmgr.extensions import db
    from schoolmgr.models import (
        Edition,
        EditionStatus,
        Registration,
        RegistrationMode,
        RegistrationStatus,
        User,
        utcnow,
    )
    from schoolmgr.registration import services
    from schoolmgr.registration.services import RegistrationError

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": args.pool, "max_overflow": 0},
            "MAIL_BACKEND": "memory",
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        today = utcnow().date()
        edition = Edition(
            title="Burst School",
            slug="burst",
            start_date=today + timedelta(days=30),
            end_date=today + timedelta(days=34),
            registration_opens_at=utcnow() - timedelta(days=1),
            registration_closes_at=utcnow() + timedelta(days=20),
            capacity=args.seats,
            registration_mode=RegistrationMode.OPEN,
            status=EditionStatus.PUBLISHED,
        )
        db.session.add(edition)
        users = [
            User(
                email=f"burst{i}@example.org",
                full_name=f"Burst Participant {i}",
                institution="Ministry of Public Administration",
            )
            for i in range(args.registrations)
        ]
        db.session.add_all(users)
        db.session.commit()
        edition_id, user_ids = edition.id, [u.id for u in users]

    barrier = threading.Barrier(args.registrations + 1)
    errors: list[str] = []

    def register(user_id: int) -> None:
        barrier.wait(timeout=60)
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                edition = db.session.get(Edition, edition_id)
                services.register(user, edition, consent=True)
            except (RegistrationError, Exception) as exc:  # counted, reported below
                errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=register, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=60)
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started

    with app.app_context():
        rows = db.session.execute(
            sa.select(Registration.status, Registration.waitlist_position).where(
                Registration.edition_id == edition_id
            )
        ).all()
        db.engine.dispose()
    counts = Counter(status for status, _pos in rows)
    accepted = counts[RegistrationStatus.ACCEPTED]
    waitlisted = counts[RegistrationStatus.WAITLISTED]
    positions = sorted(pos for _status, pos in rows if pos is not None)
    for message in sorted(set(errors))[:5]:
        print("error:", message)
    print(f"registrations={args.registrations} seats={args.seats} pool={args.pool}")
    numbered = positions == list(range(1, waitlisted + 1))
    print(f"capacity_held={accepted <= args.seats} waitlist_numbered_1_to_n={numbered}")
    print(
        f"accepted={accepted} waitlisted={waitlisted} errors={len(errors)} "
        f"seconds={seconds:.3f} registrations_per_s={len(rows) / seconds:.1f}"
    )
    return 0 if not errors and accepted <= args.seats else 1


if __name__ == "__main__":
    sys.exit(main())
