"""Attendance at scale: the edition tally, a roster save and the sign-in sheet PDF.

    .venv/bin/python bench/attendance.py [--participants 300] [--modules 8] [--sessions 4]

Builds an edition with module choice in a fresh SQLite database (each participant takes half
the modules, every ended session marked), then times:

- tally: `tally_edition` (what certificates use), with its query count;
- summary: `edition_summary` (per participant tallies plus per module rates);
- roster: `save_marks` for a whole session's roster in one transaction;
- sheet: rendering one session's sign-in sheet PDF (warm; names in Latin and Cyrillic);
- roster page: the median of 30 GETs of a roster page (50 rows) by its trainer, with queries.

The last line is `participants=N sessions=S tally_ms=T queries=Q summary_ms=U roster_ms=R
sheet_ms=P roster_page_ms=G`.
"""

import argparse
import sys
import tempfile
import time
from datetime import date, timedelta
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NAMES = ["Đorđe Čolić", "Ljiljana Šarić", "Ëndrit Hoxha", "Ђорђе Јовановић", "Ѓорѓи Трајковски"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=300)
    parser.add_argument("--modules", type=int, default=8)
    parser.add_argument("--sessions", type=int, default=4, help="sessions per module")
    args = parser.parse_args()

    import sqlalchemy as sa

    from schoolmgr import create_app
    from schoolmgr.attendance import roster as rosters
    from schoolmgr.attendance import summaries, tally
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

    tmp = Path(tempfile.mkdtemp())
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite3'}"})
    with app.app_context():
        db.create_all()
        start = date(2025, 9, 15)
        edition = Edition(
            title="Bench school",
            slug="bench",
            start_date=start,
            end_date=start + timedelta(days=6),
            module_choice=True,
        )
        trainer = User(email="t@example.org", full_name="Trainer", role=Role.TRAINER)
        db.session.add_all([edition, trainer])
        db.session.flush()
        ems = []
        for m in range(args.modules):
            em = EditionModule(
                edition=edition, module=Module(name=f"Module {m}", slug=f"m{m}"), position=m
            )
            for s in range(args.sessions):
                begins = to_utc(start + timedelta(days=s % 5), dtime(9 + (m % 4) * 2), "UTC")
                em.sessions.append(
                    Session(starts_at=begins, ends_at=begins + timedelta(hours=2), position=s)
                )
            ems.append(em)
        ems[0].trainers.append(trainer)
        db.session.add_all(ems)
        regs = []
        for i in range(args.participants):
            user = User(
                email=f"p{i}@example.org",
                full_name=f"{NAMES[i % len(NAMES)]} {i}",
                role=Role.PARTICIPANT,
            )
            reg = Registration(
                user=user, edition=edition, status=RegistrationStatus.ACCEPTED, consent_at=utcnow()
            )
            reg.modules = [em for k, em in enumerate(ems) if (k + i) % 2 == 0]
            regs.append(reg)
        db.session.add_all(regs)
        db.session.flush()
        statuses = list(AttendanceStatus)
        for reg in regs:
            for em in reg.modules:
                for n, session in enumerate(em.sessions[1:]):  # the first session stays open
                    db.session.add(
                        Attendance(
                            session=session,
                            registration=reg,
                            status=statuses[(reg.id + n) % 4],
                            method=AttendanceMethod.TRAINER,
                        )
                    )
        db.session.commit()
        total_sessions = args.modules * args.sessions

        queries = {"n": 0}
        sa.event.listen(
            db.engine,
            "before_cursor_execute",
            lambda *a, **k: queries.__setitem__("n", queries["n"] + 1),
        )
        db.session.expire_all()
        edition = db.session.get(Edition, edition.id)
        queries["n"] = 0
        t0 = time.perf_counter()
        tallies = tally.tally_edition(edition)
        tally_ms = (time.perf_counter() - t0) * 1000
        tally_queries = queries["n"]
        assert len(tallies) == args.participants

        t0 = time.perf_counter()
        summaries.edition_summary(edition)
        summary_ms = (time.perf_counter() - t0) * 1000

        session = ems[0].sessions[0]
        roster = rosters.roster_registrations(session)
        marks = {r.id: AttendanceStatus.PRESENT for r in roster}
        t0 = time.perf_counter()
        rosters.save_marks(session, marks, by=db.session.get(User, trainer.id))
        roster_ms = (time.perf_counter() - t0) * 1000

        with app.test_request_context():
            rosters.sign_in_sheet_pdf(session)  # warm-up: fonts and stylesheet
            t0 = time.perf_counter()
            pdf = rosters.sign_in_sheet_pdf(session)
            sheet_ms = (time.perf_counter() - t0) * 1000
        client = app.test_client()
        with client.session_transaction() as cookie:
            cookie["_user_id"] = db.session.get(User, trainer.id).get_id()
            cookie["_fresh"] = True
        url = f"/trainer/sessions/{session.id}"
        page_times = []
        for _ in range(31):  # the first one compiles the templates
            with app.app_context():  # each request its own `g`, as in the server
                t0 = time.perf_counter()
                response = client.get(url)
                page_times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.status_code
            assert response.get_data().count(b"<tr id=") == min(50, len(roster))
        page_times = page_times[1:]
        roster_page_ms = sorted(page_times)[len(page_times) // 2]

        print(f"roster of {len(roster)} participants, sheet {len(pdf) // 1024} KB")
        print(
            f"participants={args.participants} sessions={total_sessions} tally_ms={tally_ms:.1f} "
            f"queries={tally_queries} summary_ms={summary_ms:.1f} roster_ms={roster_ms:.1f} "
            f"sheet_ms={sheet_ms:.1f} roster_page_ms={roster_page_ms:.2f}"
        )


if __name__ == "__main__":
    main()
