"""Registration day on the whole stack: nginx, 1 then 2 gunicorn instances, 2 RQ workers,
PostgreSQL and Redis (and an S3 endpoint with --storage s3).

    .venv/bin/python bench/stack.py [--users 500] [--instances 1,2] [--capacity 100]
        [--certificates 100] [--concurrency 20] [--database schoolmgr_stack_bench]
        [--storage local|s3]

For each instance count the script empties a PostgreSQL database of its own (REBUILDS ITS
SCHEMA: never point it at real data), adds a published edition that opens registration with
four optional modules and `--capacity` seats (first come, first served) and an ended edition
with `--certificates` participants who attended everything. It starts the instances
(deploy/gunicorn.conf.py, production configuration, 2 workers each), nginx with
deploy/nginx/schoolmgr.conf, and two RQ workers, all on free ports of 127.0.0.1.

The load is a small asyncio client on httpx (no load-testing framework): N virtual
participants, at most `--concurrency` at a time, each one (reading each page for `--think`
seconds on average, 0.5-1.5x) signs up, signs in, opens the edition,
opens the registration form, registers with one or two module choices and views "My
registrations", all through nginx. Meanwhile a staff member issues the certificates of the ended
edition (bulk run on the RQ workers) and watches its progress page. Rate limits are off for the
run (every virtual participant comes from 127.0.0.1).

It prints `step=NAME requests=R errors=E p50_ms=X p95_ms=Y` per step and last
`stack instances=K users=N errors=E registrations_ok=A waitlisted=W p95_ms=Y rps=R`, where
p95_ms is that of the registration POST and rps counts every request of the participants' phase.
Then it checks the database: exactly min(capacity, N) accepted, the rest waitlisted and numbered
1..W, one registration per person, every certificate issued and its PDF present in storage with
the SHA-256 recorded. It exits 1 if a check fails or a request failed.

--storage s3 starts moto's S3 server (`pip install "moto[server]"`) and runs the app with
STORAGE_BACKEND=s3; that needs the storage interface (schoolmgr/storage/, issue 17 part 1).
"""

import argparse
import asyncio
import hashlib
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import stackctl  # noqa: E402
from bench.pages import database_url, ensure_database  # noqa: E402

PASSWORD = "stack-bench-password-1"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
EXPECTED = {
    "signup_form": 200,
    "signup": 302,
    "sign_in": 302,
    "edition": 200,
    "register_form": 200,
    "register_post": 302,
    "dashboard": 200,
    "staff_sign_in": 302,
    "certificates_issue": 302,
    "certificates_progress": 200,
}


def signing_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def build_school(app, *, capacity: int, certificates: int) -> dict:
    """Fresh schema; an edition opening registration now, an ended one, a staff member."""
    import sqlalchemy as sa

    from bench.certificates import build_edition
    from schoolmgr.extensions import db
    from schoolmgr.models import (
        Country,
        Edition,
        EditionFormat,
        EditionKind,
        EditionModule,
        EditionStatus,
        Module,
        RegistrationMode,
        Role,
        User,
        utcnow,
    )

    with app.app_context():
        meta = sa.MetaData()
        meta.reflect(db.engine)
        with db.engine.begin() as conn:
            for table in meta.tables:
                conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
        db.create_all()
        staff = User(
            email="stack-staff@example.org",
            full_name="Stack Staff",
            role=Role.STAFF,
            country=Country.SERBIA,
        )
        staff.set_password(PASSWORD)
        db.session.add(staff)
        today = utcnow().date()
        edition = Edition(
            title="Registration Day School",
            slug="registration-day",
            kind=EditionKind.SEASONAL_SCHOOL,
            format=EditionFormat.IN_PERSON,
            venue="Danilovgrad, Montenegro",
            timezone="Europe/Podgorica",
            start_date=today + timedelta(days=60),
            end_date=today + timedelta(days=64),
            registration_opens_at=utcnow() - timedelta(minutes=1),
            registration_closes_at=utcnow() + timedelta(days=30),
            capacity=capacity,
            registration_mode=RegistrationMode.OPEN,
            status=EditionStatus.PUBLISHED,
            module_choice=True,
            description="Seats go in the order registrations arrive.",
            certificate_threshold=80,
        )
        for position, name in enumerate(["Open Data", "Digital Identity", "Cloud", "GovTech"]):
            edition.edition_modules.append(
                EditionModule(module=Module(name=name, slug=f"day-{position}"), position=position)
            )
        db.session.add(edition)
        db.session.commit()
        module_ids = [em.id for em in edition.edition_modules]
        past = build_edition(certificates)
        world = {"slug": edition.slug, "module_ids": module_ids, "past_slug": past.slug}
        db.session.remove()
        db.engine.dispose()
    return world


# --- the load ---------------------------------------------------------------------------------


class Recorder:
    def __init__(self):
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.examples: list[str] = []

    async def call(self, http, cookies, step, method, url, **kwargs) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await http.request(
                method, url, headers=stackctl.cookie_header(cookies), **kwargs
            )
        except httpx.HTTPError as error:
            response, problem = None, f"{step}: {type(error).__name__} {error}"
        else:
            stackctl.keep_cookies(cookies, response)
            problem = None
            if response.status_code != EXPECTED[step]:
                problem = f"{step}: HTTP {response.status_code} {response.text[:200]!r}"
        self.latencies[step].append((time.perf_counter() - started) * 1000)
        if problem:
            self.errors[step] += 1
            if len(self.examples) < 5:
                self.examples.append(problem)
            return None
        return response


def signup_form(email: str, full_name: str, token: str) -> dict:
    """A participant's sign-up form, from one of the six administrations."""
    return {
        "full_name": full_name,
        "email": email,
        "password": PASSWORD,
        "confirm": PASSWORD,
        "country": random.choice(["AL", "BA", "XK", "ME", "MK", "RS"]),
        "institution": "Ministry of Public Administration",
        "position": "Adviser",
        "csrf_token": token,
    }


def registration_form(signup: dict, module_ids: list[int], token: str) -> dict:
    """The registration form of the person who signed up with `signup`: one or two modules."""
    choice = random.sample(module_ids, k=random.choice([1, 2]))
    return {
        "country": signup["country"],
        "institution": signup["institution"],
        "position": signup["position"],
        "modules": [str(m) for m in choice],
        "consent": "y",
        "csrf_token": token,
    }


async def participant(http, base: str, world: dict, i: int, rec: Recorder, think: float) -> None:
    cookies: dict[str, str] = {}

    async def reads_the_page() -> None:
        await asyncio.sleep(random.uniform(0.5, 1.5) * think)

    page = await rec.call(http, cookies, "signup_form", "GET", f"{base}/signup")
    if page is None:
        return
    token = stackctl.csrf_token(page.text)
    email = f"vu{i}@stack.example.org"
    signup = signup_form(email, f"Virtual Participant {i}", token)
    await reads_the_page()
    if await rec.call(http, cookies, "signup", "POST", f"{base}/signup", data=signup) is None:
        return
    await reads_the_page()
    sign_in = {"email": email, "password": PASSWORD, "csrf_token": token}
    if await rec.call(http, cookies, "sign_in", "POST", f"{base}/login", data=sign_in) is None:
        return
    await reads_the_page()
    slug = world["slug"]
    if await rec.call(http, cookies, "edition", "GET", f"{base}/editions/{slug}") is None:
        return
    await reads_the_page()
    page = await rec.call(http, cookies, "register_form", "GET", f"{base}/editions/{slug}/register")
    if page is None:
        return
    form = registration_form(signup, world["module_ids"], stackctl.csrf_token(page.text))
    await reads_the_page()
    url = f"{base}/editions/{slug}/register"
    if await rec.call(http, cookies, "register_post", "POST", url, data=form) is None:
        return
    await reads_the_page()
    await rec.call(http, cookies, "dashboard", "GET", f"{base}/me/registrations")


async def staff_issues_certificates(http, base: str, world: dict, rec: Recorder, done) -> None:
    cookies: dict[str, str] = {}
    page = await http.get(f"{base}/login")
    stackctl.keep_cookies(cookies, page)
    form = {
        "email": "stack-staff@example.org",
        "password": PASSWORD,
        "csrf_token": stackctl.csrf_token(page.text),
    }
    if await rec.call(http, cookies, "staff_sign_in", "POST", f"{base}/login", data=form) is None:
        return
    slug = world["past_slug"]
    page = await http.get(
        f"{base}/staff/editions/{slug}/certificates", headers=stackctl.cookie_header(cookies)
    )
    url = f"{base}/staff/editions/{slug}/certificates/issue"
    form = {"csrf_token": stackctl.csrf_token(page.text)}
    issued = await rec.call(http, cookies, "certificates_issue", "POST", url, data=form)
    if issued is None:
        return
    progress = f"{base}{httpx.URL(issued.headers['Location']).path}.json"
    while not done.is_set():
        response = await rec.call(http, cookies, "certificates_progress", "GET", progress)
        if response is not None and not response.json()["running"]:
            return
        await asyncio.sleep(2)


async def registration_day(base: str, world: dict, args) -> tuple[Recorder, float]:
    rec = Recorder()
    limits = httpx.Limits(max_connections=args.concurrency + 5)
    async with httpx.AsyncClient(
        timeout=60, limits=limits, cookies=stackctl.no_cookie_jar()
    ) as http:
        gate = asyncio.Semaphore(args.concurrency)
        done = asyncio.Event()

        async def one(i: int) -> None:
            async with gate:
                await participant(http, base, world, i, rec, args.think)

        staff = asyncio.create_task(staff_issues_certificates(http, base, world, rec, done))
        started = time.perf_counter()
        try:
            await asyncio.wait_for(
                asyncio.gather(*(one(i) for i in range(args.users))), args.time_limit
            )
        except TimeoutError:
            rec.errors["time_limit"] += 1
            rec.examples.append(f"the participants were not done within {args.time_limit} s")
        elapsed = time.perf_counter() - started
        done.set()
        await staff
    return rec, elapsed


# --- checks afterwards ------------------------------------------------------------------------


def wait_for_certificates(app, slug: str, timeout: float) -> None:
    import sqlalchemy as sa

    from schoolmgr.extensions import db
    from schoolmgr.models import CertificateBatch, CertificateBatchStatus, Edition

    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            status = db.session.scalar(
                sa.select(CertificateBatch.status)
                .join(Edition, Edition.id == CertificateBatch.edition_id)
                .where(Edition.slug == slug)
                .order_by(CertificateBatch.id.desc())
                .limit(1)
            )
            db.session.rollback()
            if status in (CertificateBatchStatus.FINISHED, CertificateBatchStatus.FAILED):
                return
            time.sleep(1)


def stored_certificate(app, certificate, args) -> bytes | None:
    """The PDF as the storage holds it (local folder, or the object whose key ends with it)."""
    if args.storage == "s3":
        import boto3

        s3 = boto3.client("s3", endpoint_url=args.s3_endpoint)
        listing = s3.list_objects_v2(Bucket=args.s3_bucket, Prefix=args.s3_prefix)
        for item in listing.get("Contents", []):
            if item["Key"].endswith(certificate.pdf_name):
                return s3.get_object(Bucket=args.s3_bucket, Key=item["Key"])["Body"].read()
        return None
    from schoolmgr.certificates.files import pdf_path

    path = pdf_path(certificate)
    return path.read_bytes() if path.is_file() else None


def check_database(app, world: dict, args) -> tuple[dict, list[str]]:
    import sqlalchemy as sa

    from schoolmgr.extensions import db
    from schoolmgr.models import Certificate, Edition, Registration, RegistrationStatus

    problems: list[str] = []
    with app.app_context():
        edition = db.session.scalar(sa.select(Edition).filter_by(slug=world["slug"]))
        rows = db.session.execute(
            sa.select(
                Registration.user_id, Registration.status, Registration.waitlist_position
            ).where(Registration.edition_id == edition.id)
        ).all()
        accepted = sum(1 for r in rows if r.status == RegistrationStatus.ACCEPTED)
        waitlisted = sorted(
            r.waitlist_position for r in rows if r.status == RegistrationStatus.WAITLISTED
        )
        if accepted != min(args.capacity, len(rows)):
            problems.append(f"accepted={accepted} for capacity={args.capacity}")
        if waitlisted != list(range(1, len(waitlisted) + 1)):
            problems.append("the waiting list is not numbered 1..W")
        if len({r.user_id for r in rows}) != len(rows):
            problems.append("someone holds two registrations")
        if len(rows) != args.users:
            problems.append(f"{len(rows)} registrations for {args.users} participants")

        past = db.session.scalar(sa.select(Edition).filter_by(slug=world["past_slug"]))
        certificates = db.session.scalars(
            sa.select(Certificate)
            .join(Registration, Registration.id == Certificate.registration_id)
            .where(Registration.edition_id == past.id, Certificate.revoked_at.is_(None))
        ).all()
        if len(certificates) != args.certificates:
            problems.append(f"{len(certificates)} certificates issued of {args.certificates}")
        bad = 0
        for certificate in certificates:
            content = stored_certificate(app, certificate, args)
            if content is None or hashlib.sha256(content).hexdigest() != certificate.sha256:
                bad += 1
        if bad:
            problems.append(f"{bad} certificate files missing or not matching their SHA-256")
    return {"accepted": accepted, "waitlisted": len(waitlisted)}, problems


# --- one run ----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def run(instances: int, args, tmp: Path) -> bool:
    import redis

    from schoolmgr import create_app

    url = database_url(args.database)
    storage = tmp / f"storage-{instances}"
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "TESTING": False, "STORAGE_DIR": str(storage)}
    )
    world = build_school(app, capacity=args.capacity, certificates=args.certificates)
    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {
        "FLASK_CONFIG": "production",
        "SECRET_KEY": "stack-bench-" + "0" * 52,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "SCHOOLMGR_INSTANCE_DIR": str(tmp),
        "STORAGE_DIR": str(storage),
        "MAIL_BACKEND": "outbox",
        "MAIL_OUTBOX_DIR": str(tmp / "outbox"),
        "BASE_URL": "https://school.example.org",
        "TRUSTED_PROXIES": "1",
        "SENDFILE_HEADER": "X-Accel-Redirect",
        "SENDFILE_PREFIX": "/protected",
        "STORAGE_X_ACCEL_PREFIX": "/protected",
        "RATELIMIT_ENABLED": "false",
        "CREDENTIAL_SIGNING_KEY_PEM": signing_key_pem(),
    }
    if args.storage == "s3":
        env |= {
            "STORAGE_BACKEND": "s3",
            "S3_BUCKET": args.s3_bucket,
            "S3_PREFIX": args.s3_prefix,
            "S3_ENDPOINT_URL": args.s3_endpoint,
        }
    processes = []
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_before = time.process_time()
    try:
        ports = [stackctl.free_port() for _ in range(instances)]
        for port in ports:
            processes.append(stackctl.start_gunicorn(port, env, workers=args.workers))
        front = stackctl.free_port()
        processes.append(stackctl.start_nginx(tmp / f"nginx-{instances}", front, ports, storage))
        for n in range(2):
            processes.append(stackctl.start_rq_worker(env, f"stack-bench-{instances}-{n}"))
        base = f"http://127.0.0.1:{front}"
        rec, elapsed = asyncio.run(registration_day(base, world, args))
        wait_for_certificates(app, world["past_slug"], timeout=args.time_limit)
    finally:
        for process in reversed(processes):
            stackctl.stop(process)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = (children.ru_utime + children.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )

    errors = 0
    for step in EXPECTED:
        values = rec.latencies.get(step, [])
        errors += rec.errors.get(step, 0)
        print(
            f"step={step} requests={len(values)} errors={rec.errors.get(step, 0)} "
            f"p50_ms={percentile(values, 50):.0f} p95_ms={percentile(values, 95):.0f}",
            flush=True,
        )
    errors += rec.errors.get("time_limit", 0)
    counts, problems = check_database(app, world, args)
    participants_requests = sum(
        len(rec.latencies[s]) for s in EXPECTED if not s.startswith(("staff", "certificates"))
    )
    # CPU seconds (getrusage of the stopped servers and workers, whole run with start-up): on a
    # shared machine they say more than the latencies, which include waiting for a core.
    print(
        f"# cpu_s servers_and_workers={server_cpu:.1f} "
        f"client={time.process_time() - client_before:.1f} wall_s_load={elapsed:.1f}",
        flush=True,
    )
    for example in rec.examples:
        print(f"# error: {example}", flush=True)
    for problem in problems:
        print(f"# check failed: {problem}", flush=True)
    print(
        f"stack instances={instances} users={args.users} errors={errors} "
        f"registrations_ok={counts['accepted']} waitlisted={counts['waitlisted']} "
        f"p95_ms={percentile(rec.latencies['register_post'], 95):.0f} "
        f"rps={participants_requests / elapsed:.1f}",
        flush=True,
    )
    return errors == 0 and not problems


def start_moto(args, tmp: Path):
    try:
        import boto3
        import moto  # noqa: F401
    except ImportError:
        sys.exit('--storage s3 needs moto\'s server: .venv/bin/pip install "moto[server]"')
    port = stackctl.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    args.s3_endpoint = f"http://127.0.0.1:{port}"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    stackctl.wait_for(args.s3_endpoint, process=process, timeout=30, what="moto")
    boto3.client("s3", endpoint_url=args.s3_endpoint).create_bucket(Bucket=args.s3_bucket)
    return process


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--instances", default="1,2", help="instance counts to run, in order")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument("--capacity", type=int, default=100)
    parser.add_argument("--certificates", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=40, help="participants at a time")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean seconds a participant spends on a page"
    )
    parser.add_argument("--time-limit", type=float, default=600, help="seconds per run at most")
    parser.add_argument("--database", default="schoolmgr_stack_bench")
    parser.add_argument("--storage", choices=["local", "s3"], default="local")
    parser.add_argument("--s3-bucket", default="schoolmgr-bench")
    parser.add_argument("--s3-prefix", default="stack/")
    args = parser.parse_args()
    if stackctl.nginx_binary() is None:
        sys.exit("nginx is not installed (apt-get install nginx)")
    # A timeout's SIGTERM unwinds like Ctrl-C, so every server started here is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    random.seed(17)
    ensure_database(args.database)
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as tmp:
        moto = start_moto(args, Path(tmp)) if args.storage == "s3" else None
        try:
            for instances in [int(n) for n in args.instances.split(",")]:
                ok = run(instances, args, Path(tmp)) and ok
        finally:
            stackctl.stop(moto)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
