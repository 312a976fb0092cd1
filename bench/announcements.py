"""Announcements and invitation letters of one large edition: time and SQL queries.

    .venv/bin/python bench/announcements.py [--recipients 2000] [--letters 50] [--database-url URL]

Builds an edition with three modules of four sessions each and N accepted participants (bulk
inserts), then, through the service layer: a preview (count + one rendered message), an inline
send that renders {first_name} and {my_sessions} for everyone and stores each email in the
outbox, and the ZIP of L invitation letters. Prints
`recipients=N preview_ms=X preview_queries=Q send_s=S send_queries=Q per_recipient_ms=R` and
`letters=L zip_s=S letters_per_s=R`. Emails are stored, not delivered. Default database: a
temporary SQLite file; a PostgreSQL URL is emptied and filled, so never point it at data you
care about.
"""

import argparse
import sys
import tempfile
import time as clock
from datetime import time, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fill import accepted_participants  # noqa: E402
from schoolmgr import create_app  # noqa: E402
from schoolmgr.extensions import db  # noqa: E402
from schoolmgr.models import OutboundEmail, Role  # noqa: E402
from schoolmgr.timeutils import to_utc  # noqa: E402
from tests import factories  # noqa: E402
from tests.querycount import count_queries  # noqa: E402


def build(n: int):
    edition = factories.EditionFactory(slug="bench-announcements", title="Bench School")
    for i in range(3):
        em = factories.EditionModuleFactory(edition=edition)
        for day in range(4):
            starts = to_utc(edition.start_date + timedelta(days=day), time(9 + 2 * i), "UTC")
            factories.SessionFactory(
                edition_module=em, room=f"Room {i}", starts_at=starts, position=day
            )
    staff = factories.UserFactory(role=Role.STAFF)
    accepted_participants(
        edition.id,
        [
            {
                "email": f"bench{i}@example.org",
                "full_name": f"Učesnik Broj{i}",
                "search_key": f"ucesnik broj{i}",
                "institution": "Ministry",
                "position": "Adviser",
                "calendar_token": f"bench-token-{i}",
            }
            for i in range(n)
        ],
    )
    db.session.commit()
    return edition, staff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--letters", type=int, default=50)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "STORAGE_DIR": f"{tmp}/storage", "REDIS_URL": None}
    )
    from schoolmgr.announcements import letters, services

    with app.test_request_context():
        db.drop_all()
        db.create_all()
        edition, staff = build(args.recipients)
        body = "Dear {first_name},\n\nyour sessions at {edition}:\n{my_sessions}\n"
        audience = services.Audience()

        db.session.expire_all()
        with count_queries() as preview_queries:
            started = clock.perf_counter()
            result = services.preview(edition, "News, {first_name}", body, audience, None)
            preview_ms = (clock.perf_counter() - started) * 1000
        assert result.count == args.recipients

        db.session.expire_all()
        with count_queries() as send_queries:
            started = clock.perf_counter()
            services.send(
                edition,
                staff,
                subject="News, {first_name}",
                body=body,
                audience=audience,
                material_ids=[],
                idempotency_key="b" * 32,
            )
            send_s = clock.perf_counter() - started
        stored = db.session.scalar(sa.select(sa.func.count(OutboundEmail.id)))
        assert stored == args.recipients, stored
        print(
            f"recipients={args.recipients} preview_ms={preview_ms:.0f} "
            f"preview_queries={preview_queries.count} send_s={send_s:.2f} "
            f"send_queries={send_queries.count} "
            f"per_recipient_ms={1000 * send_s / args.recipients:.2f}"
        )

        # Letters: only the first L accepted people, so the figure is per letter.
        keep = db.session.scalars(letters.accepted_query(edition).limit(args.letters)).all()
        from schoolmgr.models import Registration, RegistrationStatus

        db.session.execute(
            sa.update(Registration)
            .where(
                Registration.edition_id == edition.id,
                Registration.id.not_in([r.id for r in keep]),
            )
            .values(status=RegistrationStatus.CANCELLED)
        )
        db.session.commit()
        started = clock.perf_counter()
        archive = letters.build_zip(edition)
        zip_s = clock.perf_counter() - started
        assert archive.getbuffer().nbytes > 0
        print(f"letters={args.letters} zip_s={zip_s:.2f} letters_per_s={args.letters / zip_s:.1f}")


if __name__ == "__main__":
    main()
