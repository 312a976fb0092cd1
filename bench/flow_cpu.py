"""CPU per request of a participant's registration day, in-process (Flask test client), step by
step, on the school `bench/stack.py` builds: the figures behind that benchmark's CPU total.

    .venv/bin/python bench/flow_cpu.py [--participants 60] [--database schoolmgr_stack_bench]
    .venv/bin/python bench/flow_cpu.py --profile register_post   # cProfile of one step

Production configuration with REDIS_URL (sessions and rate limits in Redis db 13, emails queued
for RQ, as on the stack; the queued jobs are not run here). REBUILDS the database's schema.
Prints `step=NAME cpu_median_ms=C cpu_mean_ms=M queries=Q n=N` per step, then
`flow cpu_ms_per_participant=T hashing_ms=H` (H: the two scrypt password checks).
"""

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pages import database_url, ensure_database  # noqa: E402
from bench.stack import (  # noqa: E402
    PASSWORD,
    REDIS_URL,
    build_school,
    registration_form,
    signup_form,
)
from bench.stackctl import csrf_token  # noqa: E402

STEPS = [
    "signup_form",
    "signup",
    "sign_in",
    "edition",
    "register_form",
    "register_post",
    "dashboard",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=60)
    parser.add_argument("--capacity", type=int, default=30)
    parser.add_argument("--database", default="schoolmgr_stack_bench")
    parser.add_argument("--profile", choices=STEPS)
    parser.add_argument("--statements", choices=STEPS, help="print the SQL of the step's last run")
    args = parser.parse_args()
    ensure_database(args.database)
    os.environ.update(
        FLASK_CONFIG="production",
        SECRET_KEY="flow-bench-" + "0" * 53,
        DATABASE_URL=database_url(args.database),
        REDIS_URL=REDIS_URL,
        RATELIMIT_ENABLED="false",
        MAIL_BACKEND="outbox",
        BASE_URL="https://school.example.org",
    )
    import redis
    import sqlalchemy as sa

    from schoolmgr import create_app

    app = create_app()
    world = build_school(app, capacity=args.capacity, certificates=1)
    redis.Redis.from_url(REDIS_URL).flushdb()
    from schoolmgr.extensions import db

    queries = [0]
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_rest):
        queries[0] += 1
        statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)

    cpu: dict[str, list[float]] = {s: [] for s in STEPS}
    counts: dict[str, list[int]] = {s: [] for s in STEPS}
    profile = cProfile.Profile() if args.profile else None
    slug = world["slug"]

    profiled = args.profile
    last_statements: list[str] = []

    def step(name, call, *call_args, **kwargs):
        statements.clear()
        q0, c0 = queries[0], time.process_time()
        if profile and name == profiled:
            profile.enable()
        response = call(*call_args, **kwargs)
        if profile and name == profiled:
            profile.disable()
        cpu[name].append((time.process_time() - c0) * 1000)
        counts[name].append(queries[0] - q0)
        assert response.status_code in (200, 302), (name, response.status_code)
        if name == args.statements:
            last_statements[:] = statements
        return response

    for i in range(args.participants):
        client = app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        headers = {"Referer": "https://localhost/"}
        page = step("signup_form", client.get, "/signup")
        email = f"flow{i}@stack.example.org"
        form = signup_form(email, f"Flow Participant {i}", csrf_token(page.text))
        step("signup", client.post, "/signup", data=form, headers=headers)
        login = {"email": email, "password": PASSWORD, "csrf_token": form["csrf_token"]}
        step("sign_in", client.post, "/login", data=login, headers=headers)
        step("edition", client.get, f"/editions/{slug}")
        page = step("register_form", client.get, f"/editions/{slug}/register")
        register = registration_form(form, world["module_ids"], csrf_token(page.text))
        url = f"/editions/{slug}/register"
        step("register_post", client.post, url, data=register, headers=headers)
        step("dashboard", client.get, "/me/registrations")

    from schoolmgr import passwords

    hashed = passwords.hash_password(PASSWORD)
    c0 = time.process_time()
    for _ in range(5):
        passwords.check(hashed, PASSWORD)
    hashing = (time.process_time() - c0) / 5 * 1000 * 2

    warm = slice(3, None)  # the first participants pay for imports and caches
    for name in STEPS:
        values = cpu[name][warm]
        print(
            f"step={name} cpu_median_ms={statistics.median(values):.1f} "
            f"cpu_mean_ms={statistics.mean(values):.1f} "
            f"queries={statistics.median(counts[name][warm]):.0f} n={len(values)}"
        )
    total = sum(statistics.mean(cpu[name][warm]) for name in STEPS)
    print(f"flow cpu_ms_per_participant={total:.0f} hashing_ms={hashing:.0f}")
    for n, statement in enumerate(last_statements, 1):
        print(f"{n:3}. {' '.join(statement.split())[:300]}")
    if profile:
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(50)
        stats.sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
