"""Start and stop the production stack on one machine: gunicorn instances, RQ workers and nginx
with deploy/nginx/schoolmgr.conf (ports and paths replaced), without root and without touching
/etc or /var. Used by tests/test_deploy_stack.py and bench/stack.py.
"""

import http.cookiejar
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
SITE_CONFIG = ROOT / "deploy" / "nginx" / "schoolmgr.conf"
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
# What the site file says, replaced by this machine's ports and folders.
SITE_LISTEN = "listen 80;"
SITE_UPSTREAMS = ("127.0.0.1:8001", "127.0.0.1:8002")
SITE_STATIC = "/srv/schoolmgr/static/"
SITE_STORAGE = "/srv/schoolmgr/instance/storage/"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def site_config(listen_port: int, app_ports: list[int], storage_dir: Path) -> str:
    """deploy/nginx/schoolmgr.conf for this machine; fails if the file no longer says what we
    replace (so the test keeps exercising the real file)."""
    text = SITE_CONFIG.read_text()
    for expected in (SITE_LISTEN, *SITE_UPSTREAMS, SITE_STATIC, SITE_STORAGE):
        if expected not in text:
            raise ValueError(f"{SITE_CONFIG} no longer contains {expected!r}")
    text = text.replace(SITE_LISTEN, f"listen 127.0.0.1:{listen_port};")
    upstream_lines = re.findall(r"^\s*server 127\.0\.0\.1:800[12].*$", text, re.MULTILINE)
    servers = "\n".join(
        upstream_lines[0].replace(SITE_UPSTREAMS[0], f"127.0.0.1:{port}") for port in app_ports
    )
    text = text.replace(upstream_lines[0], servers, 1).replace(upstream_lines[1] + "\n", "", 1)
    text = text.replace(SITE_STATIC, f"{ROOT / 'static'}/")
    return text.replace(SITE_STORAGE, f"{Path(storage_dir).resolve()}/")


def nginx_main_config(prefix: Path, site: str) -> str:
    """A whole nginx.conf around the site, with every path under `prefix` (no root needed)."""
    user = pwd.getpwuid(os.getuid()).pw_name
    temp = "\n".join(
        f"    {kind}_temp_path {prefix}/{kind}_temp;"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
user {user};
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    access_log off;
{temp}
{site}
}}
"""


def wait_for(url: str, *, process: subprocess.Popen, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not answer {url} within {timeout:.0f} s")


def start_nginx(prefix: Path, listen_port: int, app_ports: list[int], storage_dir: Path):
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_main_config(prefix, site_config(listen_port, app_ports, storage_dir)))
    process = subprocess.Popen(
        [nginx_binary(), "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)]
        + ["-g", "daemon off;"],
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            f"http://127.0.0.1:{listen_port}/static/css/app.css",
            process=process,
            timeout=30,
            what="nginx",
        )
    except RuntimeError:
        stop(process)
        raise RuntimeError((prefix / "error.log").read_text()[-2000:]) from None
    return process


def start_gunicorn(port: int, env: dict, *, workers: int = 1, timeout: float = 90):
    process = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-c", str(GUNICORN_CONFIG), "wsgi:app"],
        cwd=ROOT,
        env={
            **os.environ,
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_LOG_LEVEL": "warning",
        },
        start_new_session=True,
    )
    try:
        wait_for(
            f"http://127.0.0.1:{port}/healthz", process=process, timeout=timeout, what="gunicorn"
        )
    except RuntimeError:
        stop(process)
        raise
    return process


def worker_nice() -> int:
    """The CPU priority deploy/systemd gives RQ workers (`Nice=`), so tests and benchmarks run
    them as production does."""
    unit = (ROOT / "deploy" / "systemd" / "schoolmgr-worker@.service").read_text()
    return int(re.search(r"^Nice=(-?\d+)$", unit, re.MULTILINE).group(1))


def start_rq_worker(env: dict, name: str):
    nice = worker_nice()
    return subprocess.Popen(
        [str(VENV_BIN / "rq"), "worker", "--url", env["REDIS_URL"], "--name", name, "schoolmgr"],
        cwd=ROOT,
        env={**os.environ, **env},
        start_new_session=True,
        preexec_fn=lambda: os.nice(nice),
        stdout=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


# --- a browser's cookies, by hand ------------------------------------------------------------
# Production cookies are Secure and these clients speak plain HTTP to 127.0.0.1, so httpx's own
# jar would never send them back: each virtual user keeps its cookies in a dict instead.


def no_cookie_jar() -> http.cookiejar.CookieJar:
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def keep_cookies(cookies: dict[str, str], response: httpx.Response) -> None:
    for header in response.headers.get_list("set-cookie"):
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        expired = "max-age=0" in attributes.lower() or "1970" in attributes
        if expired or not value:
            cookies.pop(name, None)
        else:
            cookies[name] = value


def cookie_header(cookies: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}


CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_token(page: str) -> str:
    match = CSRF.search(page)
    if not match:
        raise ValueError("no csrf_token on the page")
    return match.group(1)
