"""CPU per request of the pages bench/pages.py loads, in-process (Flask test client), so that
a loaded machine still gives comparable figures (CPU time, not wall clock).

    .venv/bin/python bench/page_cpu.py DATABASE_URL [--n 60] [--pages home,roster]
    .venv/bin/python bench/page_cpu.py DATABASE_URL --profile registrations   # cProfile
    .venv/bin/python bench/page_cpu.py DATABASE_URL --profile home --profile-out /tmp/home.prof

DATABASE_URL holds the large school of `bench/pages.py` (run it once). ROOT=/other/tree runs
another checkout's code against the same data: run two trees in turn for an interleaved A/B.
Prints `page=NAME cpu_median_ms=C wall_median_ms=W database_cpu_mean_ms=D n=N`; anonymous pages
with the page cache off. D is the CPU PostgreSQL's processes for the database spent per request
(read from /proc: PostgreSQL on this machine; the kernel counts in ticks of 10 ms, so take
n >= 100). The page `ceiling` is bench/ceiling.py's bare-Flask app rendering the home page's
template from the home page's data, as bench/pages.py serves it: home's figure against it.

    .venv/bin/python bench/page_cpu.py DATABASE_URL --instructions [--n 20]

counts the instructions the app runs per request instead (valgrind's callgrind, switched on
for the measured requests only): the same figure on an idle or a loaded machine, to a few
tenths of a percent, so that two trees compare without interleaving. Prints
`page=NAME minstructions_per_request=M n=N` (millions; the database's own work not included).
"""

import argparse
import gc
import os
import re
import statistics
import sys
import time
from urllib.parse import urlencode

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)
from bench import callgrind  # noqa: E402  (this tree's, before ROOT's code is imported)

root = os.environ.get("ROOT", HERE)
sys.path.insert(0, root)
os.chdir(root)
parser = argparse.ArgumentParser()
parser.add_argument("db")
parser.add_argument("--n", type=int, default=60)
parser.add_argument("--profile")
parser.add_argument("--profile-out", help="also save the profile there, for pstats")
parser.add_argument("--pages", default="home,edition,registrations,roster,ceiling")
parser.add_argument("--instructions", action="store_true", help="count instructions (callgrind)")
args = parser.parse_args()
if args.instructions and not callgrind.under_callgrind():
    # Each page in a process of its own under callgrind, collecting only its measured requests.
    n = args.n if "--n" in sys.argv else 20
    for name in args.pages.split(","):
        arguments = [args.db, "--pages", name, "--n", str(n), "--instructions"]
        total = callgrind.instructions_of(__file__, arguments)
        print(f"page={name} minstructions_per_request={total / n / 1e6:.2f} n={n}", flush=True)
    sys.exit()
os.environ.update(
    FLASK_CONFIG="production",
    SECRET_KEY="bench-" + "0" * 58,
    DATABASE_URL=args.db,
    RATELIMIT_ENABLED="false",
    MAIL_BACKEND="outbox",
    PUBLIC_PAGE_CACHE_SECONDS="0",
)
from schoolmgr import create_app  # noqa: E402

app = create_app()
import sqlalchemy as sa  # noqa: E402

from schoolmgr.extensions import db  # noqa: E402

with app.app_context():
    slug = db.session.scalar(
        sa.text(
            "select e.slug from editions e join registrations r on r.edition_id=e.id "
            "group by e.id, e.slug order by count(*) desc limit 1"
        )
    )
    sid = db.session.scalar(
        sa.text(
            "select session_id from attendances group by session_id "
            "order by count(*) desc, session_id limit 1"
        )
    )
    staff = db.session.scalar(sa.text("select email from users where role='staff' order by id"))
pages = {
    "ceiling": ("/", False),
    "home": ("/", False),
    "edition": (f"/editions/{slug}", False),
    "registrations": (f"/staff/editions/{slug}/registrations", True),
    "roster": (f"/trainer/sessions/{sid}", True),
}
anon = app.test_client()
anon.environ_base["wsgi.url_scheme"] = "https"
client = app.test_client()
client.environ_base["wsgi.url_scheme"] = "https"
page = client.get("/login").get_data(as_text=True)
token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
password = os.environ.get("BENCH_PASSWORD", "bench-password-123")
r = client.post(
    "/login",
    data=urlencode({"email": staff, "password": password, "csrf_token": token}),
    content_type="application/x-www-form-urlencoded",
    headers={"Referer": "https://localhost/login"},
)
assert r.status_code == 302, r.status_code
from bench.ceiling import create_ceiling_app  # noqa: E402
from bench.pages import home_cards_as_plain_data  # noqa: E402

ceiling = create_ceiling_app(home_cards_as_plain_data(app)).test_client()


def client_of(name: str):
    if name == "ceiling":
        return ceiling
    return client if pages[name][1] else anon


wanted = args.pages.split(",")
for name in wanted:  # warm up
    url = pages[name][0]
    for _ in range(3):
        resp = client_of(name).get(url)
        assert resp.status_code == 200, (name, resp.status_code)

gc.collect()  # start-up objects out of the collector's full passes, as wsgi.py does
gc.freeze()

if args.instructions:  # under callgrind (above): collect these requests only
    url, c = pages[wanted[0]][0], client_of(wanted[0])
    with callgrind.collecting():
        for _ in range(args.n):
            c.get(url)
    sys.exit()

if args.profile:
    import cProfile
    import pstats

    url, c = pages[args.profile][0], client_of(args.profile)
    prof = cProfile.Profile(time.process_time)  # CPU, not the waits on the database
    prof.enable()
    for _ in range(args.n):
        c.get(url)
    prof.disable()
    if args.profile_out:
        prof.dump_stats(args.profile_out)
    st = pstats.Stats(prof)
    st.sort_stats("cumulative").print_stats(45)
    st.sort_stats("tottime").print_stats(30)
    sys.exit()


def database_pids() -> list[int]:
    """PostgreSQL's processes serving this database, among them the app's pooled connection
    that the measured requests reuse (asked in autocommit mode: a rollback would make psycopg
    forget the statements it has prepared on that connection)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        query = "select pid from pg_stat_activity where datname = current_database()"
        return conn.scalars(sa.text(query)).all()


def database_cpu_seconds(pids: list[int]) -> float:
    """CPU time so far of the processes `pids` (PostgreSQL on this machine)."""
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:  # not on this machine, or gone
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


with app.app_context():
    pids = database_pids()
cpu = {n: [] for n in wanted}
wall = {n: [] for n in wanted}
database = dict.fromkeys(wanted, 0.0)
for _ in range(args.n):
    for name in wanted:
        url, c = pages[name][0], client_of(name)
        d0 = database_cpu_seconds(pids)
        t0, c0 = time.perf_counter(), time.process_time()
        resp = c.get(url)
        c1, t1 = time.process_time(), time.perf_counter()
        database[name] += database_cpu_seconds(pids) - d0
        assert resp.status_code == 200
        cpu[name].append((c1 - c0) * 1000)
        wall[name].append((t1 - t0) * 1000)
for name in wanted:
    print(
        f"page={name} cpu_median_ms={statistics.median(cpu[name]):.1f} "
        f"wall_median_ms={statistics.median(wall[name]):.1f} "
        f"database_cpu_mean_ms={database[name] / args.n * 1000:.2f} n={args.n}"
    )
