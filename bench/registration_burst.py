"""Burst of concurrent registrations for one open edition, on PostgreSQL.

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/schoolmgr_bench \
        .venv/bin/python bench/registration_burst.py [--registrations 200] [--seats 20] [--quotas]

Creates the database if missing and REBUILDS ITS SCHEMA (use a database of its own, never a
real one), adds an open edition and one participant per registration, then releases every
registration at once, each in its own thread, app context, session and connection, as requests
served by different workers would be. It checks that the capacity held and that the waiting list
is numbered 1..N. The last line is
`accepted=N waitlisted=N errors=N seconds=S registrations_per_s=R`.

With `--quotas` the edition shares its seats among countries: `--seats` divided equally among the
six administrations and "Other" (28 seats: 4 each; a remainder stays open to everyone), and the
registrants come from the seven in unequal numbers (Serbia most, "Other" least). It checks that
no country got fewer seats than it was owed nor more than its own plus the open ones, and the
last line adds the exact counts per country: `by_country=AL:accepted/waitlisted,...`.
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
    parser.add_argument(
        "--quotas", action="store_true", help="share the seats among the countries equally"
    )
    args = parser.parse_args()
    if args.quotas and args.seats == parser.get_default("seats"):
        args.seats = 28

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgresql"):
        parser.error("DATABASE_URL must point at PostgreSQL")
    ensure_database(url)

    from schoolmgr import create_app
    from schoolmgr.extensions import db
    from schoolmgr.models import (
        Country,
        Edition,
        EditionSeatQuota,
        EditionStatus,
        Registration,
        RegistrationMode,
        RegistrationStatus,
        User,
        utcnow,
    )
    from schoolmgr.registration import registering
    from schoolmgr.registration.errors import RegistrationError

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
        quotas: dict = {}
        if args.quotas:
            quotas = {country: args.seats // len(Country) for country in Country}
            edition.seat_quotas = [EditionSeatQuota(country=c, seats=n) for c, n in quotas.items()]
        # Unequal numbers per country, interleaved: Serbia 7 parts, ..., Other 1 part.
        weights = dict(zip(Country, (5, 3, 2, 2, 4, 7, 1), strict=True))  # AL BA XK ME MK RS OTHER
        mix = [c for c, w in weights.items() for _ in range(w)]
        users = [
            User(
                email=f"burst{i}@example.org",
                full_name=f"Burst Participant {i}",
                institution="Ministry of Public Administration",
                country=mix[i % len(mix)],
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
                registering.register(user, edition, consent=True)
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
            sa.select(Registration.status, Registration.waitlist_position, User.country)
            .join(Registration.user)
            .where(Registration.edition_id == edition_id)
        ).all()
        db.engine.dispose()
    counts = Counter(status for status, _pos, _c in rows)
    accepted = counts[RegistrationStatus.ACCEPTED]
    waitlisted = counts[RegistrationStatus.WAITLISTED]
    positions = sorted(pos for _status, pos, _c in rows if pos is not None)
    per_country = Counter((country, status) for status, _pos, country in rows)
    registrants = Counter(country for _s, _p, country in rows)
    for message in sorted(set(errors))[:5]:
        print("error:", message)
    print(f"registrations={args.registrations} seats={args.seats} pool={args.pool}")
    numbered = positions == list(range(1, waitlisted + 1))
    print(f"capacity_held={accepted <= args.seats} waitlist_numbered_1_to_n={numbered}")
    quotas_held = True
    tail = ""
    if args.quotas:
        open_seats = args.seats - sum(quotas.values())
        parts = []
        for country in Country:
            got = per_country[(country, RegistrationStatus.ACCEPTED)]
            waiting = per_country[(country, RegistrationStatus.WAITLISTED)]
            owed = min(quotas[country], registrants[country])
            quotas_held &= owed <= got <= quotas[country] + open_seats
            print(
                f"country={country.value} quota={quotas[country]} registrants="
                f"{registrants[country]} accepted={got} waitlisted={waiting}"
            )
            parts.append(f"{country.value}:{got}/{waiting}")
        print(f"quotas_held={quotas_held} open_seats={open_seats}")
        tail = " by_country=" + ",".join(parts)
    print(
        f"accepted={accepted} waitlisted={waitlisted} errors={len(errors)} "
        f"seconds={seconds:.3f} registrations_per_s={len(rows) / seconds:.1f}{tail}"
    )
    return 0 if not errors and accepted <= args.seats and quotas_held else 1


if __name__ == "__main__":
    sys.exit(main())
