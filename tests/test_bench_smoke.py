"""The benchmarks under bench/ still run as the code changes (tiny sizes; figures not judged).

bench/pages.py and bench/registration_burst.py need gunicorn or PostgreSQL and are run by hand
(see the README); bench/certificates.py runs here at six certificates; bench/stack.py runs at a
tiny size on PostgreSQL when nginx is installed, bench/flow_cpu.py on PostgreSQL."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
NGINX_PATH = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"

RUNS = [
    (
        ["bench/attendance.py", "--participants", "12", "--modules", "2", "--sessions", "2"],
        r"^participants=12 sessions=4 tally_ms=[\d.]+ queries=\d+ .*sheet_ms=[\d.]+ "
        r"roster_page_ms=[\d.]+$",
    ),
    (["bench/programme.py", "--users", "300", "--repeat", "1"], r"^duplicate: median_ms=[\d.]+"),
    (
        ["bench/evaluations.py", "--editions", "3", "--modules", "2", "--answers", "5"],
        r"^editions=3 answers=\d+ page=results queries=\d+ median_ms=\d+ trends_ms=\d+$",
    ),
    (
        ["bench/eligibility.py", "--registrations", "40", "--requests", "1"],
        r"^page=1 registrations=40 queries=\d+ median_ms=\d+$",
    ),
    (
        [
            "bench/reports.py",
            "--years",
            "2",
            "--editions",
            "2",
            "--participants",
            "5",
            "--requests",
            "1",
        ],
        r"^page=reports queries=\d+ median_ms=\d+ cpu_ms=\d+\n(?:.*\n)*pdf_seconds=[\d.]+ ",
    ),
    (
        ["bench/announcements.py", "--recipients", "20", "--letters", "1"],
        r"^recipients=20 preview_ms=\d+ .*per_recipient_ms=[\d.]+\nletters=1 zip_s=[\d.]+",
    ),
    (["bench/qr.py", "--n", "1", "--rounds", "1"], r"^qr=png_pixelated cpu_ms_per_certificate="),
    (["bench/certificate_render.py", "--n", "1"], r"^cpu_ms_per_render=[\d.]+ n=1$"),
    (
        ["bench/certificates.py", "--n", "6", "--naive-n", "2"],
        r"^app: 6 issued, 0 failed(?s:.*)^n=6 naive_cps=[\d.]+ app_cps=[\d.]+ ratio=[\d.]+ "
        r"peak_rss_mb=\d+$",
    ),
    (
        ["bench/bilingual_certificate.py", "--n", "1"],
        r"^variant=bilingual_mk modules=12 n=1 ms_per_certificate=\d+ pages=1$",
    ),
]


@pytest.mark.parametrize(("args", "figure"), RUNS, ids=[run[0][0] for run in RUNS])
def test_benchmark_runs_and_prints_its_figures(args, figure):
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(figure, done.stdout, re.MULTILINE), done.stdout[-2000:]


def run_on_postgres(script: str, args: list[str], database: str, timeout: int):
    """Run a benchmark on a private database of the test server (Redis db 14); assert it
    exits 0 and return what it printed."""
    url = make_url(os.environ["TEST_DATABASE_URL"])
    env = {
        **os.environ,
        "BENCH_PG": url.set(database="").render_as_string(hide_password=False).rstrip("/"),
        "BENCH_REDIS_URL": "redis://127.0.0.1:6379/14",
    }
    done = subprocess.run(
        [sys.executable, script, *args, "--database", f"{url.database}_{database}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL") or shutil.which("nginx", path=NGINX_PATH) is None,
    reason="bench/stack.py needs PostgreSQL (TEST_DATABASE_URL) and nginx",
)
def test_stack_benchmark_runs_and_checks_the_database():
    """Two instances behind nginx, 6 participants for 3 seats, 2 certificates (1-4 minutes)."""
    args = ["--users", "6", "--capacity", "3", "--certificates", "2", "--instances", "2"]
    out = run_on_postgres("bench/stack.py", args, "stack_smoke", timeout=600)
    assert re.search(
        r"^stack instances=2 users=6 errors=0 registrations_ok=3 waitlisted=3 p95_ms=\d+ rps=",
        out,
        re.MULTILINE,
    ), out[-2000:]


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="bench/flow_cpu.py needs PostgreSQL"
)
def test_flow_cpu_benchmark_prints_every_step():
    args = ["--participants", "4", "--capacity", "2", "--statements", "register_post"]
    out = run_on_postgres("bench/flow_cpu.py", args, "flow_smoke", timeout=300)
    for step in ("signup", "sign_in", "register_post", "dashboard"):
        assert re.search(rf"^step={step} cpu_median_ms=[\d.]+ ", out, re.MULTILINE), step
    assert re.search(r"^flow cpu_ms_per_participant=\d+ hashing_ms=\d+$", out, re.MULTILINE)
    assert "INSERT INTO registrations" in out  # the statements of the last POST


def test_ceiling_serves_the_home_template():
    """bench/ceiling.py renders the app's real home template: when base.html needs a new
    helper or endpoint, the ceiling must get it too, or every ratio is against error pages."""
    from bench.ceiling import create_ceiling_app

    card = {
        "edition": {
            "title": "Digital Transformation 2027",
            "slug": "dt-2027",
            "venue": "Budva",
            "start_date": "2027-09-13",
            "end_date": "2027-09-17",
            "kind": {"label": "Seasonal school", "value": "seasonal_school"},
            "format": {"label": "In person", "value": "in_person"},
        },
        "seats_left": 4,
        "registration_open": True,
    }
    ceiling = create_ceiling_app({"upcoming": [card], "past": [], "pages": 1})
    response = ceiling.test_client().get("/")
    assert response.status_code == 200
    assert "Digital Transformation 2027" in response.get_data(as_text=True)
