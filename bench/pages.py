"""Page speed on a large school and on the demo data, against a bare-Flask ceiling.

    .venv/bin/python bench/pages.py [--database eng7_bench] [--port 5100] [--requests 300]

1. Fills a PostgreSQL database with a large school (100,000 users, 1,000 editions, one edition
   with 5,000 registrations, a roster of 200 participants x 10 sessions) with COPY, not the ORM.
2. Serves the app with gunicorn (2 workers) on 127.0.0.1 and drives a bounded load (threads +
   http.client, a fixed number of requests and a time limit per page) at the home page, an edition
   page, the staff registrations list, a session roster and the certificate verify page.
3. In the same run, serves the same home-page template from plain Python data in a bare Flask
   app (gunicorn, 2 workers): the framework's ceiling.
4. Prints `page=NAME rps=R p50_ms=X p95_ms=Y ratio_to_ceiling=Q` per page (production
   configuration, so anonymous home and edition pages come from the few-second page cache),
   then home_nocache and edition_nocache with that cache off, in rounds (--nocache-rounds), each
   page against the ceiling measured again just before it: medians of the rounds, and each
   round's rps. Then the same on the demo data, then compares the two.

Pages whose routes do not exist yet are reported as skipped. The database is dropped and
rebuilt on every run; never point this at data you care about.
"""

import argparse
import enum
import http.client
import json
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VENV_BIN = ROOT / ".venv" / "bin"
BENCH_PASSWORD = "bench-password-123"

# --- filling the database ---------------------------------------------------------------------


def database_url(name: str) -> str:
    base = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
    return f"{base}/{name}"


def ensure_database(name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(database_url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def fresh_schema(app) -> None:
    import sqlalchemy as sa

    from schoolmgr.extensions import db

    with app.app_context():
        meta = sa.MetaData()
        meta.reflect(db.engine)
        with db.engine.begin() as conn:
            for table in meta.tables:
                conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
        db.create_all()


class Copier:
    """COPY rows (dicts) into a table, filling the models' Python-side defaults."""

    def __init__(self, conn):
        from schoolmgr.extensions import db

        self.conn = conn
        self.tables = db.metadata.tables

    def _value(self, value):
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, dict | list):
            return json.dumps(value)
        return value

    def copy(self, table_name: str, rows: list[dict]) -> int:
        if not rows:
            return 0
        table = self.tables[table_name]
        columns = [c for c in table.columns if c.name in rows[0] or c.default is not None]
        names = ", ".join(f'"{c.name}"' for c in columns)
        with self.conn.cursor() as cur, cur.copy(f'COPY "{table_name}" ({names}) FROM STDIN') as cp:
            for row in rows:
                values = []
                for column in columns:
                    if column.name in row:
                        value = row[column.name]
                    elif column.default.is_callable:
                        value = column.default.arg(None)
                    else:
                        value = column.default.arg
                    values.append(self._value(value))
                cp.write_row(values)
        if "id" in table.c:
            with self.conn.cursor() as cur:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), "
                    f'(SELECT max(id) FROM "{table_name}"))'
                )
        return len(rows)


def fill_large_school(app, *, users: int, editions: int, big: int, roster: int, sessions: int):
    """Bulk-load the large school; returns what the benchmark needs to build its URLs."""
    from schoolmgr.extensions import db
    from schoolmgr.models import User
    from schoolmgr.text import fold
    from schoolmgr.timeutils import to_utc

    rng = random.Random(7)
    started = time.perf_counter()
    probe = User()
    probe.set_password(BENCH_PASSWORD)
    password_hash = probe.password_hash
    now = datetime.now(UTC)
    today = now.date()
    countries = ["AL", "BA", "XK", "ME", "MK", "RS", "OTHER"]
    first = ["Đorđe", "Ana", "Arben", "Maja", "Elira", "Marko", "Jelena", "Besa", "Nikola", "Ivana"]
    last = ["Čolić", "Popovska", "Krasniqi", "Kovačević", "Shehu", "Petrović", "Hoxha", "Jovanović"]

    with app.app_context():
        raw = db.engine.raw_connection()
        conn = raw.driver_connection
        copier = Copier(conn)

        user_rows = []
        n_trainers = 60
        for uid in range(1, users + 1):
            if uid == 1:
                email, role, name = "bench-staff@example.org", "staff", "Bench Staff"
            elif uid == 2:
                email, role, name = "bench-admin@example.org", "admin", "Bench Admin"
            elif uid <= 2 + n_trainers:
                email, role = f"trainer{uid}@example.org", "trainer"
                name = f"{rng.choice(first)} {rng.choice(last)} T{uid}"
            else:
                email, role = f"person{uid}@example.org", "participant"
                name = f"{rng.choice(first)} {rng.choice(last)} {uid}"
            institution = f"Ministry {uid % 40}"
            user_rows.append(
                {
                    "id": uid,
                    "email": email,
                    "full_name": name,
                    "search_key": fold(f"{name} {email} {institution}")[:700],
                    "password_hash": password_hash,
                    "role": role,
                    "country": countries[uid % len(countries)],
                    "institution": institution,
                    "position": "Head of Unit",
                    "calendar_token": secrets.token_urlsafe(18),
                }
            )
        copier.copy("users", user_rows)
        trainer_ids = list(range(3, 3 + n_trainers))
        participant_ids = list(range(3 + n_trainers, users + 1))

        module_rows = [
            {"id": m, "name": f"Module {m:02d}", "slug": f"module-{m:02d}", "summary": "A module."}
            for m in range(1, 41)
        ]
        copier.copy("modules", module_rows)

        edition_rows, em_rows, trainer_rows, session_rows = [], [], [], []
        em_id = session_id = 0
        # Edition 1: the big one (5,000 registrations), upcoming and open.
        # Edition 2: the roster edition (200 accepted x 10 sessions), running now.
        # Editions 3..12: upcoming; the rest: past, one every ~10 days back to the 1990s.
        for eid in range(1, editions + 1):
            if eid == 1:
                start = today + timedelta(days=20)
            elif eid == 2:
                start = today - timedelta(days=2)
            elif eid <= 12:
                start = today + timedelta(days=30 + 15 * eid)
            else:
                start = today - timedelta(days=10 * eid)
            end = start + timedelta(days=4)
            past = end < today
            edition_rows.append(
                {
                    "id": eid,
                    "title": f"Seasonal School {eid}: Digital Transformation",
                    "slug": f"school-{eid}",
                    "series": "digital-transformation",
                    "kind": "seasonal_school",
                    "format": "in_person",
                    "venue": "Budva, Montenegro",
                    "timezone": "Europe/Belgrade",
                    "start_date": start,
                    "end_date": end,
                    "registration_opens_at": to_utc(
                        start - timedelta(days=90), dtime(9), "Europe/Belgrade"
                    ),
                    "registration_closes_at": to_utc(
                        start - timedelta(days=1), dtime(23), "Europe/Belgrade"
                    ),
                    "capacity": 6000 if eid == 1 else (250 if eid == 2 else 30),
                    "status": "archived" if past and eid % 3 == 0 else "published",
                    "description": "An edition of the school. " * 20,
                    "published_at": now,
                }
            )
            n_modules = 5
            n_sessions_per_module = 2 if eid != 2 else sessions // n_modules
            for position in range(n_modules):
                em_id += 1
                em_rows.append(
                    {
                        "id": em_id,
                        "edition_id": eid,
                        "module_id": (eid * 7 + position) % 40 + 1,
                        "position": position,
                    }
                )
                trainer_rows.append(
                    {"edition_module_id": em_id, "user_id": trainer_ids[(eid + position) % 60]}
                )
                for s in range(n_sessions_per_module):
                    session_id += 1
                    day = start + timedelta(days=(position + s) % 5)
                    starts = to_utc(day, dtime(9 + 2 * (s % 4)), "Europe/Belgrade")
                    session_rows.append(
                        {
                            "id": session_id,
                            "edition_module_id": em_id,
                            "title": f"Session {s + 1}",
                            "starts_at": starts,
                            "ends_at": starts + timedelta(hours=2),
                            "room": "Plenary hall",
                            "position": s,
                            "checkin_code": f"K{session_id:07d}",
                            "checkin_secret": secrets.token_urlsafe(24),
                        }
                    )
        copier.copy("editions", edition_rows)
        copier.copy("edition_modules", em_rows)
        copier.copy("edition_module_trainers", trainer_rows)
        copier.copy("sessions", session_rows)

        registration_rows, attendance_rows, certificate_rows = [], [], []
        reg_id = 0
        statuses = ["accepted"] * 6 + ["pending"] * 2 + ["rejected", "cancelled"]

        def register(user_id: int, edition_id: int, status: str) -> int:
            nonlocal reg_id
            reg_id += 1
            registration_rows.append(
                {
                    "id": reg_id,
                    "user_id": user_id,
                    "edition_id": edition_id,
                    "status": status,
                    "waitlist_position": None,
                    "motivation": "I lead the digital transformation unit of my ministry.",
                    "consent_at": now - timedelta(days=rng.randint(1, 60)),
                    "created_at": now - timedelta(minutes=reg_id),
                }
            )
            return reg_id

        for user_id in participant_ids[:big]:
            register(user_id, 1, rng.choice(statuses))
        roster_users = participant_ids[big : big + roster]
        roster_registrations = [register(u, 2, "accepted") for u in roster_users]
        roster_sessions = [r["id"] for r in session_rows if r["edition_module_id"] in range(6, 11)]
        for sid in roster_sessions:
            for rid in roster_registrations:
                attendance_rows.append(
                    {
                        "session_id": sid,
                        "registration_id": rid,
                        "status": rng.choice(["present"] * 8 + ["late", "absent", "excused"]),
                        "method": "trainer",
                        "recorded_by_id": trainer_ids[0],
                    }
                )
        # Every other edition: 25 registrations from the remaining participants.
        pool = participant_ids[big + roster :]
        for eid in range(3, editions + 1):
            for user_id in rng.sample(pool, 25):
                register(user_id, eid, "accepted")
        past_registrations = [r for r in registration_rows if r["edition_id"] > 12]
        code_alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # as schoolmgr.certificates.codes
        for n, registration in enumerate(past_registrations[:20000]):
            raw_code = "".join(rng.choice(code_alphabet) for _ in range(20))
            code = "-".join(raw_code[i : i + 4] for i in range(0, 20, 4))
            edition = edition_rows[registration["edition_id"] - 1]
            certificate_rows.append(
                {
                    "id": n + 1,
                    "registration_id": registration["id"],
                    "edition_id": registration["edition_id"],
                    "serial": f"RSPA-{n + 1:07d}",
                    "verification_code": code,
                    "issued_at": now - timedelta(days=n % 3000),
                    "snapshot": {
                        "school_name": "Regional School of Public Administration",
                        "name": user_rows[registration["user_id"] - 1]["full_name"],
                        "edition_title": edition["title"],
                        "edition_slug": edition["slug"],
                        "kind": "Seasonal school",
                        "format": "In person",
                        "start_date": edition["start_date"].isoformat(),
                        "end_date": edition["end_date"].isoformat(),
                        "dates": edition["start_date"].isoformat(),
                        "place": edition["venue"],
                        "modules": [
                            {"name": "Agile", "hours": 6},
                            {"name": "Human Ware", "hours": 6},
                        ],
                        "total_hours": 12,
                        "issued_on": edition["end_date"].isoformat(),
                        "serial": f"RSPA-{n + 1:07d}",
                        "verification_code": code,
                        "signatories": [],
                    },
                    "pdf_name": f"bench-{n + 1}.pdf",
                    "sha256": "0" * 64,
                }
            )
        copier.copy("registrations", registration_rows)
        copier.copy("attendances", attendance_rows)
        copier.copy("certificates", certificate_rows)
        conn.commit()
        # As autovacuum would after a bulk load: statistics, and the visibility map that lets
        # counts use index-only scans.
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
        conn.autocommit = False
        raw.close()
        db.engine.dispose()

    print(
        f"# filled: users={len(user_rows)} editions={len(edition_rows)} "
        f"sessions={len(session_rows)} registrations={len(registration_rows)} "
        f"attendances={len(attendance_rows)} certificates={len(certificate_rows)} "
        f"in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    return {
        "staff_email": "bench-staff@example.org",
        "trainer_email": f"trainer{trainer_ids[1]}@example.org",
        "password": BENCH_PASSWORD,
    }


def fill_demo(app) -> dict:
    from schoolmgr.certificates.cli import issue_past_editions
    from schoolmgr.demo import DEMO_PASSWORD, seed_demo
    from schoolmgr.extensions import db

    with app.app_context():
        counts = seed_demo()  # as `flask seed-demo` does: the data, then past certificates
        counts["certificates"] = issue_past_editions()
        db.engine.dispose()
    print("# demo data: " + ", ".join(f"{k}={v}" for k, v in counts.items()), flush=True)
    return {
        "staff_email": "staff@example.org",
        "trainer_email": "trainer@example.org",
        "password": DEMO_PASSWORD,
    }


# --- which pages ------------------------------------------------------------------------------


def page_targets(app) -> list[tuple[str, str | None, str | None, str]]:
    """(page name, URL or None, who signs in, why skipped) for the five pages, from the data."""
    import sqlalchemy as sa
    from flask import url_for

    from schoolmgr.extensions import db
    from schoolmgr.models import Attendance, Certificate, Edition, Registration

    targets = []
    with app.test_request_context():
        endpoints = app.view_functions
        busiest = db.session.execute(
            sa.select(Edition.id, Edition.slug)
            .join(Registration, Registration.edition_id == Edition.id)
            .group_by(Edition.id, Edition.slug)
            .order_by(sa.func.count().desc())
            .limit(1)
        ).first()
        # The roster: the session with the most attendance marks (200 x 10 in the large school).
        roster_session = db.session.execute(
            sa.select(Attendance.session_id.label("id"))
            .group_by(Attendance.session_id)
            .order_by(sa.func.count().desc(), Attendance.session_id)
            .limit(1)
        ).first()
        certificate = db.session.scalar(sa.select(Certificate.verification_code).limit(1))
        targets.append(("home", url_for("public.home"), None, ""))
        targets.append(
            (
                "edition",
                url_for("public.edition", slug=busiest.slug) if busiest else None,
                None,
                "no edition with registrations",
            )
        )
        if "registration.staff_list" in endpoints and busiest:
            targets.append(
                (
                    "registrations",
                    url_for("registration.staff_list", slug=busiest.slug),
                    "staff",
                    "",
                )
            )
        else:
            targets.append(("registrations", None, None, "route registration.staff_list missing"))
        roster_endpoint = next(
            (
                e
                for e in ("attendance.roster", "trainer.roster", "trainer.session")
                if e in endpoints
            ),
            None,
        )
        if roster_endpoint and roster_session:
            targets.append(
                ("roster", url_for(roster_endpoint, session_id=roster_session.id), "staff", "")
            )
        else:
            targets.append(("roster", None, None, "no roster route (attendance.roster) yet"))
        if "certificates.verify_code" in endpoints and certificate:
            targets.append(
                ("verify", url_for("certificates.verify_code", code=certificate), None, "")
            )
        elif "certificates.verify" in endpoints and certificate:
            targets.append(("verify", url_for("certificates.verify", code=certificate), None, ""))
        else:
            targets.append(("verify", None, None, "no verify route or no certificate in the data"))
        db.session.remove()
        db.engine.dispose()
    return targets


# --- servers ----------------------------------------------------------------------------------


def start_gunicorn(app_spec: str, port: int, env: dict) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--chdir",
            str(ROOT),
            app_spec,
        ],
        env={**os.environ, **env},
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn for {app_spec} exited with {process.returncode}")
        try:
            status, _ = request("127.0.0.1", port, "/healthz" if "wsgi" in app_spec else "/")
            if status < 500:
                return process
        except OSError:
            time.sleep(0.3)
    stop(process)
    raise RuntimeError(f"gunicorn for {app_spec} did not start on port {port}")


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def request(host, port, path, method="GET", body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        response.read()
        return response.status, response
    finally:
        conn.close()


def sign_in(port: int, email: str, password: str) -> str:
    """Sign in through the real form; return the Cookie header value."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    body = urlencode({"email": email, "password": password, "csrf_token": token})
    conn.request(
        "POST",
        "/login",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 302:
        raise RuntimeError(f"signing in as {email} failed with {response.status}")
    return response.getheader("Set-Cookie").split(";")[0]


# --- load -------------------------------------------------------------------------------------


def drive(
    port: int,
    path: str,
    *,
    requests: int,
    concurrency: int,
    time_limit: float,
    cookie: str | None = None,
) -> dict:
    """Send `requests` GETs over `concurrency` keep-alive connections, within `time_limit`."""
    headers = {"Cookie": cookie} if cookie else {}
    for _ in range(5):  # warm up both workers
        request("127.0.0.1", port, path, headers=headers)
    latencies: list[float] = []
    errors: list[int] = []
    remaining = [requests]
    lock = threading.Lock()
    deadline = time.perf_counter() + time_limit

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if remaining[0] <= 0 or time.perf_counter() > deadline:
                    break
                remaining[0] -= 1
            began = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status = 599
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    errors.append(status)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "n": len(latencies),
        "rps": len(latencies) / wall if wall else 0.0,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else 0.0,
        "p95_ms": 1000 * latencies[max(0, int(0.95 * len(latencies)) - 1)] if latencies else 0.0,
        "errors": errors,
    }


# --- the ceiling ------------------------------------------------------------------------------


def home_cards_as_plain_data(app) -> dict:
    """The home page's cards as plain dicts, for the bare-Flask ceiling to render."""
    from schoolmgr.extensions import db
    from schoolmgr.models import utcnow
    from schoolmgr.public import services

    def plain(card):
        e = card.edition
        return {
            "edition": {
                "title": e.title,
                "slug": e.slug,
                "venue": e.venue,
                "start_date": e.start_date.isoformat(),
                "end_date": e.end_date.isoformat(),
                "kind": {"label": str(e.kind.label), "value": e.kind.value},
                "format": {"label": str(e.format.label), "value": e.format.value},
            },
            "seats_left": card.seats_left,
            "registration_open": card.registration_open,
        }

    with app.test_request_context("/"):
        now = utcnow()
        upcoming, past, pager = services.catalogue(now, now.date())
        data = {
            "upcoming": [plain(c) for c in upcoming],
            "past": [plain(c) for c in past],
            "pages": pager.pages,
        }
        db.session.remove()
        db.engine.dispose()
    return data


# --- the run ----------------------------------------------------------------------------------


def _measurer(port: int, base: dict, label: str, args, results: dict):
    def measure(name: str, url: str, cookie: str | None) -> None:
        result = drive_page(port, url, args, cookie)
        ratio = result["rps"] / base["rps"] if base["rps"] else 0.0
        results[name] = result
        print(page_line(name, result, ratio) + f"  # {label} {url} n={result['n']}", flush=True)

    return measure


def page_line(name: str, result: dict, ratio: float) -> str:
    """`page=NAME rps=R p50_ms=X p95_ms=Y ratio_to_ceiling=Q`, and the errors if any."""
    line = (
        f"page={name} rps={result['rps']:.1f} p50_ms={result['p50_ms']:.1f} "
        f"p95_ms={result['p95_ms']:.1f} ratio_to_ceiling={ratio:.2f}"
    )
    if result["errors"]:
        line += f" errors={len(result['errors'])} (first status {result['errors'][0]})"
    return line


def drive_page(port: int, url: str, args, cookie: str | None = None) -> dict:
    return drive(
        port,
        url,
        requests=args.requests,
        concurrency=args.concurrency,
        time_limit=args.time_limit,
        cookie=cookie,
    )


def drive_ceiling(ceiling_port: int, args) -> dict:
    return drive_page(ceiling_port, "/", args)


def report_rounds(name: str, url: str, rounds: list[tuple[dict, dict]], label: str) -> dict:
    """One line for a page measured in rounds, each against its own ceiling: the medians of the
    rounds' figures and of their ratios, then each round's rps and its ceiling's."""
    ratios = [page["rps"] / ceiling["rps"] for page, ceiling in rounds if ceiling["rps"]]
    result = {
        key: statistics.median(page[key] for page, _ceiling in rounds)
        for key in ("rps", "p50_ms", "p95_ms")
    }
    result["errors"] = [e for page, _ceiling in rounds for e in page["errors"]]
    result["n"] = sum(page["n"] for page, _ceiling in rounds)
    line = page_line(name, result, statistics.median(ratios))
    rounds_text = " / ".join(
        f"{page['rps']:.0f} of {ceiling['rps']:.0f} rps" for page, ceiling in rounds
    )
    print(line + f"  # {label} {url} n={result['n']}, medians of {rounds_text}", flush=True)
    return result


def run_pages(
    label: str, app, port: int, ceiling_port: int, credentials: dict, data_file: Path, args
) -> dict[str, dict]:
    env = {
        "FLASK_CONFIG": "production",
        "SECRET_KEY": "bench-" + "0" * 58,
        "DATABASE_URL": database_url(args.database),
        "RATELIMIT_ENABLED": "false",
        "MAIL_BACKEND": "outbox",
        "SCHOOLMGR_INSTANCE_DIR": str(data_file.parent),
    }
    data_file.write_text(json.dumps(home_cards_as_plain_data(app)))
    targets = page_targets(app)
    results: dict[str, dict] = {}
    server = ceiling = None
    try:
        ceiling = start_gunicorn(
            "bench.ceiling:app", ceiling_port, {"BENCH_HOME_DATA": str(data_file)}
        )
        base = drive_ceiling(ceiling_port, args)
        server = start_gunicorn("wsgi:app", port, env)
        cookies = {"staff": sign_in(port, credentials["staff_email"], credentials["password"])}
        print(
            f"# {label}: ceiling (bare Flask, same home template, plain data) "
            f"rps={base['rps']:.1f} p50_ms={base['p50_ms']:.1f} p95_ms={base['p95_ms']:.1f}",
            flush=True,
        )
        measure = _measurer(port, base, label, args, results)
        for name, url, who, why in targets:
            if url is None:
                print(f"page={name} skipped: {why}", flush=True)
                continue
            measure(name, url, cookies.get(who))
        # The same public pages with the anonymous page cache off: the app's own work per view,
        # each round against the ceiling measured just before it (the machine's speed drifts).
        stop(server)
        server = start_gunicorn("wsgi:app", port, {**env, "PUBLIC_PAGE_CACHE_SECONDS": "0"})
        public = [(n, u) for n, u, _who, _why in targets if n in ("home", "edition") and u]
        rounds: dict[str, list[tuple[dict, dict]]] = {name: [] for name, _url in public}
        for _ in range(args.nocache_rounds):
            ceiling_now = drive_ceiling(ceiling_port, args)
            for name, url in public:
                rounds[name].append((drive_page(port, url, args), ceiling_now))
        for name, url in public:
            results[f"{name}_nocache"] = report_rounds(f"{name}_nocache", url, rounds[name], label)
    finally:
        stop(server)
        stop(ceiling)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="eng7_bench")
    parser.add_argument("--port", type=int, default=5100, help="app port; the ceiling uses +1")
    parser.add_argument("--requests", type=int, default=300, help="requests per page")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per page at most")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--editions", type=int, default=1_000)
    parser.add_argument("--skip-fill", action="store_true", help="reuse the large school")
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument(
        "--nocache-rounds",
        type=int,
        default=3,
        help="rounds of the ceiling then each uncached public page",
    )
    args = parser.parse_args()

    # A timeout's SIGTERM unwinds like Ctrl-C, so the gunicorn servers are always stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.environ.setdefault("RATELIMIT_ENABLED", "false")
    from schoolmgr import create_app

    ensure_database(args.database)
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": database_url(args.database),
                "TESTING": False,
                "STORAGE_DIR": str(Path(tmp) / "storage"),  # where the servers look too
            }
        )
        data_file = Path(tmp) / "home.json"
        if not args.skip_fill:
            fresh_schema(app)
            fill_large_school(
                app, users=args.users, editions=args.editions, big=5000, roster=200, sessions=10
            )
        credentials = {"staff_email": "bench-staff@example.org", "password": BENCH_PASSWORD}
        print("# large school", flush=True)
        large = run_pages("large", app, args.port, args.port + 1, credentials, data_file, args)
        if args.skip_demo:
            return 0
        fresh_schema(app)
        credentials = fill_demo(app)
        print("# demo data", flush=True)
        demo = run_pages("demo", app, args.port, args.port + 1, credentials, data_file, args)
    print("# p95 at the large school / p95 on the demo data (target <= 1.5)")
    for name in large:
        if name in demo and demo[name]["p95_ms"]:
            ratio = large[name]["p95_ms"] / demo[name]["p95_ms"]
            print(f"page={name} p95_ratio_large_to_demo={ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
