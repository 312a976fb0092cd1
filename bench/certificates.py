"""Bulk certificate issuing: the app's code path against a naive WeasyPrint loop.

    .venv/bin/python bench/certificates.py [--n 1000] [--processes 2] [--naive-n 100]
        [--storage local|s3]

Generates an edition with N accepted participants (names in Latin with diacritics and in
Cyrillic, full attendance) in a fresh SQLite database, then:

- naive: renders the same template with a fresh `HTML(string=...).write_pdf()` per certificate
  (new FontConfiguration and stylesheet each time, one process), over --naive-n certificates
  (the rate is per certificate, so a sample is enough), half timed before the app run and half
  after, since the machine is shared;
- app: issues all N certificates through the code path staff use (start_batch + run_batch:
  eligibility, snapshot, render, temporary file then rename, SHA-256, database row, audit event,
  queued email), with --processes worker processes, each holding one FontConfiguration and one
  parsed stylesheet and rendering a warm-up certificate first. The time includes starting them.

With `--storage s3` the PDFs go to an S3 bucket served by moto's standalone server, started on
127.0.0.1 for the run (in its own process, whose CPU time is not counted: it stands in for the
S3 service); the default is the local folder.

Peak memory is the largest sum of the resident sets of this process and all its children,
sampled every 250 ms; with `--storage s3`, the moto server is left out of it (it keeps every
stored PDF in its own memory, as S3 would on its side) and its own peak is printed apart.
The last line is `n=N naive_cps=R app_cps=R ratio=Q peak_rss_mb=M`.
"""

import argparse
import contextlib
import os
import resource
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FIRST = ["Đorđe", "Čedomir", "Ćamil", "Šefik", "Žaklina", "Ëndrit", "Çlirim", "Marija"]
LAST = ["Čolić", "Đurić", "Šarić", "Žarković", "Hoxha", "Çela", "Ćatić", "Kovačević"]
CYR_FIRST = ["Ђорђе", "Љиљана", "Његош", "Ћирил", "Џемал", "Ѓорѓи", "Ќиро", "Ѕвезда"]
CYR_LAST = ["Јовановић", "Николић", "Трајковски", "Ћосић", "Џаковић", "Ѓорѓиевски"]


def person_name(i: int) -> str:
    if i % 2:
        return f"{CYR_FIRST[i % len(CYR_FIRST)]} {CYR_LAST[(i // 2) % len(CYR_LAST)]}"
    return f"{FIRST[i % len(FIRST)]} {LAST[(i // 3) % len(LAST)]}"


class RssSampler(threading.Thread):
    """Peak of the summed RSS of this process and all its descendants (Linux /proc), leaving
    out the subtree of `excluded` (the S3 stand-in, which is not the app), whose own peak is
    kept apart."""

    def __init__(self, interval: float = 0.25, excluded: int | None = None):
        super().__init__(daemon=True)
        self.interval = interval
        self.excluded = excluded
        self.peak_kb = 0
        self.excluded_peak_kb = 0
        self._halt = threading.Event()

    @staticmethod
    def _children() -> dict[int, list[int]]:
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
        return children

    @staticmethod
    def _tree(root: int, children: dict[int, list[int]], pruned: int | None) -> set[int]:
        tree, frontier = {root}, [root]
        while frontier:
            for child in children.get(frontier.pop(), []):
                if child not in tree and child != pruned:
                    tree.add(child)
                    frontier.append(child)
        return tree

    @staticmethod
    def _rss_kb(pids: set[int]) -> int:
        total = 0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1])
            except OSError:
                continue
        return total

    def sample(self) -> None:
        children = self._children()
        app = self._tree(os.getpid(), children, pruned=self.excluded)
        self.peak_kb = max(self.peak_kb, self._rss_kb(app))
        if self.excluded:
            excluded = self._tree(self.excluded, children, pruned=None)
            self.excluded_peak_kb = max(self.excluded_peak_kb, self._rss_kb(excluded))

    def run(self):
        while not self._halt.is_set():
            self.sample()
            time.sleep(self.interval)

    def stop(self):
        self._halt.set()
        self.join()
        self.sample()


def build_edition(n: int):
    """An ended edition with two modules of two sessions and N participants who attended all."""
    import sqlalchemy as sa

    from bench.fill import accepted_participants
    from schoolmgr.extensions import db
    from schoolmgr.models import (
        Attendance,
        AttendanceMethod,
        AttendanceStatus,
        Edition,
        EditionFormat,
        EditionKind,
        EditionModule,
        EditionStatus,
        Module,
        Session,
        utcnow,
    )
    from schoolmgr.timeutils import to_utc

    start = date(2025, 9, 15)
    edition = Edition(
        title="Seasonal School on Digital Transformation (benchmark)",
        slug="bench-edition",
        kind=EditionKind.SEASONAL_SCHOOL,
        format=EditionFormat.IN_PERSON,
        venue="Hotel Splendid, Budva, Montenegro",
        timezone="Europe/Podgorica",
        start_date=start,
        end_date=start + timedelta(days=4),
        capacity=n,
        status=EditionStatus.ARCHIVED,
        certificate_threshold=80,
        signatories=[
            {"name": "Jelena Marković", "title": "Programme Manager"},
            {"name": "Arben Krasniqi", "title": "Director"},
        ],
    )
    db.session.add(edition)
    for position, name in enumerate(["Human Ware", "Agile", "Crisis Communication"]):
        em = EditionModule(
            module=Module(name=name, slug=f"bench-{position}"),
            position=position,
            mandatory=position == 2,
        )
        edition.edition_modules.append(em)
        for k in range(2):
            starts = to_utc(start + timedelta(days=position), dtime(9 + 4 * k), edition.timezone)
            em.sessions.append(Session(starts_at=starts, ends_at=starts + timedelta(hours=3)))
    db.session.flush()
    session_ids = [s.id for em in edition.edition_modules for s in em.sessions]
    now = utcnow()
    reg_ids = accepted_participants(
        edition.id,
        [
            {
                "email": f"bench{i}@example.org",
                "full_name": person_name(i),
                "search_key": "",
                "institution": "Ministry of Public Administration",
            }
            for i in range(n)
        ],
    )
    db.session.execute(
        sa.insert(Attendance),
        [
            {
                "session_id": sid,
                "registration_id": rid,
                "status": AttendanceStatus.PRESENT,
                "method": AttendanceMethod.TRAINER,
                "recorded_at": now,
            }
            for rid in reg_ids
            for sid in session_ids
        ],
    )
    db.session.commit()
    return edition


def children_cpu() -> float:
    """CPU seconds of this process's finished children (the worker processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def s3server_cpu(pid: int | None) -> float:
    from tests.s3server import cpu_seconds

    return cpu_seconds(pid) if pid else 0.0


def naive_rate(snapshots: list[dict]) -> tuple[float, float]:
    """Fresh HTML(...).write_pdf() per certificate: new fonts and stylesheet every time."""
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    from schoolmgr import pdf
    from schoolmgr.certificates import rendering

    css_path = pdf.STATIC_DIR / rendering.STYLESHEETS[0]
    started, cpu = time.perf_counter(), time.process_time()
    for snapshot in snapshots:
        html = pdf.render_html(rendering.TEMPLATE, rendering.certificate_context(snapshot))
        font_config = FontConfiguration()
        css = CSS(filename=str(css_path), font_config=font_config, url_fetcher=pdf.url_fetcher())
        HTML(string=html, base_url=pdf.BASE_URL, url_fetcher=pdf.url_fetcher()).write_pdf(
            stylesheets=[css], font_config=font_config
        )
    n = len(snapshots)
    return n / (time.perf_counter() - started), (time.process_time() - cpu) / n


def credential_cost(sample_size: int = 200) -> str:
    """What the Open Badges credential adds to issuing one certificate (schoolmgr.credentials).

    sign: the VC-JWT signature alone (Ed25519 over the ~5 KB payload); document+sign: building
    the credential and signing it; issue_for: all the issuing path adds (row insert and flush,
    document, signature, update), on already issued certificates in a rolled-back transaction.
    Wall-clock and CPU time per certificate (CPU is what counts on a loaded, shared machine);
    raw_ed25519 is the bare `cryptography` signature of the same bytes, as a yardstick.
    """
    import sqlalchemy as sa
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from schoolmgr.credentials import documents, services
    from schoolmgr.credentials.keys import key_ring
    from schoolmgr.extensions import db
    from schoolmgr.models import BadgeCredential, Certificate

    rows = db.session.scalars(sa.select(BadgeCredential).limit(sample_size)).all()
    if not rows:
        return "credentials: none issued"
    key = key_ring().signing
    payloads = [services.decoded(r) for r in rows]

    def per_item(run, items) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        for item in items:
            run(item)
        count = len(items)
        return (time.perf_counter() - wall) / count, (time.process_time() - cpu) / count

    sign = per_item(lambda p: services.sign(p, key), payloads)
    raw_key = Ed25519PrivateKey.generate()
    raw = per_item(raw_key.sign, [r.jwt.encode() for r in rows])
    certificates = db.session.scalars(
        sa.select(Certificate).where(Certificate.id.in_([r.certificate_id for r in rows]))
    ).all()
    for certificate in certificates:  # what the issuing path has loaded already
        _ = certificate.registration.user, certificate.registration.edition.edition_modules

    def document_and_sign(certificate) -> None:
        registration = certificate.registration
        document = documents.open_badge_credential(
            credential_uri="urn:uuid:bench",
            subject_uri="urn:uuid:bench-subject",
            snapshot=certificate.snapshot,
            edition=registration.edition,
            email=registration.user.email,
            salt="bench",
            pdf_sha256=certificate.sha256,
            status=(1, 1),
        )
        services.sign(document, key)

    build = per_item(document_and_sign, certificates)
    db.session.execute(
        sa.delete(BadgeCredential).where(BadgeCredential.id.in_([r.id for r in rows]))
    )
    issue = per_item(services.issue_for, certificates)
    db.session.rollback()
    return (
        f"credentials per certificate (wall/cpu, over {len(certificates)}): "
        f"sign_us={1e6 * sign[0]:.0f}/{1e6 * sign[1]:.0f} "
        f"document_and_sign_us={1e6 * build[0]:.0f}/{1e6 * build[1]:.0f} "
        f"issue_for_ms={1e3 * issue[0]:.2f}/{1e3 * issue[1]:.2f} "
        f"raw_ed25519_us={1e6 * raw[0]:.0f}/{1e6 * raw[1]:.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="certificates to issue")
    parser.add_argument("--processes", type=int, default=2, help="rendering processes")
    parser.add_argument("--naive-n", type=int, default=100, help="certificates for the baseline")
    parser.add_argument(
        "--database-url",
        default="",
        help="SQLAlchemy URL of a scratch database (emptied!); default: a new SQLite file",
    )
    parser.add_argument("--storage", choices=("local", "s3"), default="local")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        storage_settings = {}
        if args.storage == "s3":
            from tests import s3server

            s3server.use_credentials()
            endpoint = stack.enter_context(s3server.moto_server())
            s3server.create_bucket(endpoint, "bench-certificates")
            storage_settings = s3server.s3_settings(endpoint, "bench-certificates")
            storage_settings["moto_pid"] = s3server.moto_server.pid
        run(args, storage_settings)


def run(args: argparse.Namespace, storage_settings: dict) -> None:
    moto_pid = storage_settings.pop("moto_pid", None)
    workdir = Path(tempfile.mkdtemp(prefix="bench-certificates-"))
    sampler = RssSampler(excluded=moto_pid)
    sampler.start()

    import sqlalchemy as sa

    from schoolmgr import create_app
    from schoolmgr.certificates import batches, codes, eligibility, snapshot
    from schoolmgr.extensions import db
    from schoolmgr.models import Certificate, Registration
    from schoolmgr.storage import get_storage

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": args.database_url
            or f"sqlite:///{workdir / 'bench.sqlite3'}",
            "STORAGE_DIR": str(workdir / "storage"),
            "MAIL_BACKEND": "memory",
            "BASE_URL": "https://school.example.org",
            **storage_settings,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        if db.engine.dialect.name == "sqlite":
            # Two worker processes write concurrently: in SQLite's default rollback-journal mode
            # every reader blocks the other's commit and the busy handler sleeps. WAL (a
            # property of the file, so the workers get it too) lets readers and a writer overlap.
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        t0 = time.perf_counter()
        edition = build_edition(args.n)
        print(f"generated edition with {args.n} participants in {time.perf_counter() - t0:.1f}s")

        # The baseline renders exactly what the app will: snapshots built by the same service.
        registrations = db.session.scalars(
            sa.select(Registration)
            .where(Registration.edition_id == edition.id)
            .order_by(Registration.id)
            .limit(args.naive_n)
        ).all()
        sample = [
            snapshot.build_snapshot(
                reg,
                eligibility.evaluate_registration(reg),
                f"2025-0001-{reg.id:05d}",
                codes.new_code(),
                date.today(),
            )
            for reg in registrations
        ]
        db.session.rollback()
        # The machine is shared: time half of the baseline before the app run and half after,
        # so a change of load during the run does not favour either side.
        half = len(sample) // 2
        naive_before, naive_cpu_before = naive_rate(sample[:half])

        t0, cpu0, children0 = time.perf_counter(), time.process_time(), children_cpu()
        moto0 = s3server_cpu(moto_pid)
        batch = batches.start_batch(edition, None)
        batch = batches.run_batch(batch.id, processes=args.processes)
        elapsed = time.perf_counter() - t0
        parent_cpu = (time.process_time() - cpu0) / max(batch.done, 1)
        workers_cpu = (children_cpu() - children0) / max(batch.done, 1)
        app_cpu = parent_cpu + workers_cpu
        issued = db.session.scalar(db.select(db.func.count(Certificate.id)))
        app_cps = batch.done / elapsed
        print(
            f"app: {batch.done} issued, {batch.failed} failed, {issued} in the database, "
            f"{elapsed:.1f}s with {args.processes} processes, {args.storage} storage "
            f"({1000 * elapsed / max(batch.done, 1):.1f} ms wall, {1000 * app_cpu:.1f} ms CPU "
            "per certificate)"
        )
        if moto_pid:
            moto_ms = 1000 * (s3server_cpu(moto_pid) - moto0) / max(batch.done, 1)
            print(f"S3 server (moto) CPU per certificate: {moto_ms:.1f} ms, not counted above")
        stored = sum(1 for _ in get_storage().list("certificates/"))
        print(f"stored PDFs: {stored}")
        if batch.failures:
            print("first failure:", batch.failures[0])
        naive_after, naive_cpu_after = naive_rate(sample[half:])
        naive_cps = 2 / (1 / naive_before + 1 / naive_after)
        naive_cpu = (naive_cpu_before + naive_cpu_after) / 2
        print(
            f"naive: {len(sample)} certificates, {naive_cps:.2f}/s (one process; "
            f"{naive_before:.2f}/s before the app run, {naive_after:.2f}/s after)"
        )
        # CPU time does not depend on what else runs on the machine: it says what the ratio
        # would be with the cores to ourselves.
        print(
            f"cpu per certificate: naive {1000 * naive_cpu:.0f} ms, app {1000 * app_cpu:.0f} ms "
            f"(workers {1000 * workers_cpu:.0f} ms, this process {1000 * parent_cpu:.0f} ms); "
            f"with {args.processes} idle cores the ratio would be "
            f"about {args.processes * naive_cpu / app_cpu:.2f}"
        )
        print(credential_cost())
    sampler.stop()
    if moto_pid:
        print(f"S3 server (moto) peak RSS: {sampler.excluded_peak_kb / 1024:.0f} MB, not counted")
    print(
        f"n={args.n} naive_cps={naive_cps:.2f} app_cps={app_cps:.2f} "
        f"ratio={app_cps / naive_cps:.2f} peak_rss_mb={sampler.peak_kb / 1024:.0f}"
    )


if __name__ == "__main__":
    main()
