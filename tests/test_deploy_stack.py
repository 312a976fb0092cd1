"""deploy/ works: nginx (deploy/nginx/schoolmgr.conf) in front of two gunicorn instances
(deploy/gunicorn.conf.py) in production configuration, sharing one database and storage folder.

Skipped when nginx is not installed (`scripts/install-system-deps.sh browser` installs it).
"""

import subprocess
from pathlib import Path

import httpx
import pytest
import redis

from bench import stackctl
from schoolmgr import create_app
from schoolmgr.extensions import db
from schoolmgr.models import Material, Role
from tests import factories
from tests.dbutil import database_for, drop_everything

pytestmark = pytest.mark.skipif(stackctl.nginx_binary() is None, reason="nginx is not installed")

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n% shared between instances\n"
# A Redis database of its own, emptied before and after, for the shared rate-limit counters.
REDIS_URL = "redis://127.0.0.1:6379/12"


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stack")
    url = database_for("deploystack", tmp)
    drop_everything(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "STORAGE_DIR": str(tmp / "storage")})
    with app.app_context():
        db.create_all()
        staff = factories.UserFactory(role=Role.STAFF, email="staff@stack.example.org")
        edition_module = factories.EditionModuleFactory()
        world = {"staff_email": staff.email, "edition_module_id": edition_module.id}
        db.session.remove()
        db.engine.dispose()
    shared_redis = redis_reachable()
    if shared_redis:
        redis.Redis.from_url(REDIS_URL).flushdb()
    env = {
        "FLASK_CONFIG": "production",
        "SECRET_KEY": "stack-test-" + "0" * 53,
        "DATABASE_URL": url,
        "SCHOOLMGR_INSTANCE_DIR": str(tmp),
        "STORAGE_DIR": str(tmp / "storage"),
        "MAIL_BACKEND": "outbox",
        "MAIL_OUTBOX_DIR": str(tmp / "outbox"),
        "TRUSTED_PROXIES": "1",
        "SENDFILE_HEADER": "X-Accel-Redirect",
        "SENDFILE_PREFIX": "/protected",
        "STORAGE_X_ACCEL_PREFIX": "/protected",
        "RATELIMIT_ENABLED": "true",
        "REDIS_URL": REDIS_URL if shared_redis else "",
    }
    a, b, front = stackctl.free_port(), stackctl.free_port(), stackctl.free_port()
    processes = []
    try:
        processes.append(stackctl.start_gunicorn(a, env))
        processes.append(stackctl.start_gunicorn(b, env))
        processes.append(stackctl.start_nginx(tmp / "nginx", front, [a, b], tmp / "storage"))
        yield {
            "a": f"http://127.0.0.1:{a}",
            "b": f"http://127.0.0.1:{b}",
            "nginx": f"http://127.0.0.1:{front}",
            "storage": tmp / "storage",
            "database_url": url,
            "shared_redis": shared_redis,
            **world,
        }
    finally:
        for process in reversed(processes):
            stackctl.stop(process)
        if shared_redis:
            redis.Redis.from_url(REDIS_URL).flushdb()


class Browser:
    """One person's cookies, sent to whichever instance we choose."""

    def __init__(self):
        self.cookies: dict[str, str] = {}
        self.http = httpx.Client(timeout=60, cookies=stackctl.no_cookie_jar())

    def get(self, base: str, path: str) -> httpx.Response:
        response = self.http.get(base + path, headers=stackctl.cookie_header(self.cookies))
        stackctl.keep_cookies(self.cookies, response)
        return response

    def post(self, base: str, path: str, data: dict, files=None) -> httpx.Response:
        headers = stackctl.cookie_header(self.cookies)
        response = self.http.post(base + path, data=data, files=files, headers=headers)
        stackctl.keep_cookies(self.cookies, response)
        return response

    def sign_in(self, base: str, email: str) -> None:
        token = stackctl.csrf_token(self.get(base, "/login").text)
        data = {"email": email, "password": factories.PASSWORD, "csrf_token": token}
        response = self.post(base, "/login", data)
        assert response.status_code == 302, response.text[:500]


@pytest.fixture(scope="module")
def staff(stack):
    browser = Browser()
    browser.sign_in(stack["a"], stack["staff_email"])
    return browser


def test_a_session_survives_requests_alternating_between_instances(stack, staff):
    for base in [stack["a"], stack["b"], stack["a"], stack["b"], stack["nginx"]]:
        response = staff.get(base, "/account/")
        assert response.status_code == 200
        assert stack["staff_email"] in response.text


def test_a_file_uploaded_through_a_downloads_through_b_and_nginx(stack, staff):
    em_id = stack["edition_module_id"]
    token = stackctl.csrf_token(staff.get(stack["a"], f"/trainer/modules/{em_id}").text)
    form = {"kind": "file", "title": "Shared slides", "position": "0"}
    form |= {"visibility": "participants", "csrf_token": token}
    response = staff.post(
        stack["a"],
        f"/trainer/modules/{em_id}/materials",
        form,
        files={"file": ("Уводна презентација.pdf", PDF, "application/pdf")},
    )
    assert response.status_code == 302, response.text[:500]
    app = create_app({"SQLALCHEMY_DATABASE_URI": stack["database_url"]})
    with app.app_context():
        material = db.session.scalar(db.select(Material).filter_by(title="Shared slides"))
        material_id, stored_name = material.id, material.stored_name
        db.engine.dispose()

    # Instance B knows the file and hands it to nginx; it checked the permission itself.
    direct = staff.get(stack["b"], f"/materials/{material_id}/download")
    assert direct.status_code == 200
    assert direct.headers["X-Accel-Redirect"].endswith(stored_name)
    assert (stack["storage"] / "materials" / stored_name).read_bytes() == PDF

    # Through nginx (round robin: both instances answer one of the two) the bytes arrive.
    for _ in range(2):
        response = staff.get(stack["nginx"], f"/materials/{material_id}/download")
        assert response.status_code == 200
        assert response.content == PDF
        assert response.headers["Content-Type"] == "application/pdf"
        assert "attachment" in response.headers["Content-Disposition"]
        assert "X-Accel-Redirect" not in response.headers
    # Someone signed out gets no file, and the internal location cannot be asked for directly.
    anonymous = httpx.get(stack["nginx"] + f"/materials/{material_id}/download")
    assert anonymous.status_code == 302
    assert httpx.get(stack["nginx"] + f"/protected/materials/{stored_name}").status_code == 404


def test_nginx_serves_static_files_itself(stack):
    response = httpx.get(stack["nginx"] + "/static/css/app.css")
    assert response.status_code == 200
    assert response.content == (stackctl.ROOT / "static" / "css" / "app.css").read_bytes()
    assert "public" in response.headers["Cache-Control"]
    assert "X-Request-ID" not in response.headers  # the app stamps every answer it gives
    assert "X-Request-ID" in httpx.get(stack["nginx"] + "/healthz").headers


def test_signing_out_on_a_is_honoured_on_b(stack):
    browser = Browser()
    browser.sign_in(stack["a"], stack["staff_email"])
    assert browser.get(stack["b"], "/account/").status_code == 200
    copied = dict(browser.cookies)
    token = stackctl.csrf_token(browser.get(stack["a"], "/account/").text)
    assert browser.post(stack["a"], "/logout", {"csrf_token": token}).status_code == 302

    thief = Browser()
    thief.cookies = copied
    for base in (stack["b"], stack["a"]):
        response = thief.get(base, "/account/")
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_sign_in_attempts_are_counted_across_both_instances(stack):
    if not stack["shared_redis"]:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    # 10 a minute per client address; with TRUSTED_PROXIES=1 the address is the one the proxy
    # puts in X-Forwarded-For, so this client's counter is its own.
    client_address = {"X-Forwarded-For": "203.0.113.7"}
    statuses = []
    for attempt in range(12):
        base = stack["a"] if attempt % 2 else stack["b"]
        browser = Browser()
        browser.http.headers.update(client_address)
        token = stackctl.csrf_token(browser.get(base, "/login").text)
        data = {"email": "nobody@stack.example.org", "password": "wrong", "csrf_token": token}
        statuses.append(browser.post(base, "/login", data).status_code)
    # Each instance saw 6 attempts: only a counter they share stops the 11th.
    assert statuses == [401] * 10 + [429] * 2, statuses


def test_deploy_units_name_the_config_files_that_exist():
    deploy = stackctl.ROOT / "deploy"
    app_unit = (deploy / "systemd" / "schoolmgr@.service").read_text()
    assert "-c deploy/gunicorn.conf.py wsgi:app" in app_unit
    assert "GUNICORN_BIND=127.0.0.1:%i" in app_unit
    assert "rq worker" in (deploy / "systemd" / "schoolmgr-worker@.service").read_text()
    assert stackctl.worker_nice() == 10  # background rendering yields the cores to pages
    assert "TRUSTED_PROXIES=1" in (deploy / "env.example").read_text()
    done = subprocess.run(
        [str(stackctl.VENV_BIN / "gunicorn"), "-c", str(stackctl.GUNICORN_CONFIG), "--check-config"]
        + ["wsgi:app"],
        cwd=stackctl.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "FLASK_CONFIG": "development"},
    )
    assert done.returncode == 0, done.stderr[-1000:]


def test_site_config_keeps_what_the_test_replaces(tmp_path):
    site = stackctl.site_config(8080, [9001, 9002, 9003], tmp_path)
    assert "listen 127.0.0.1:8080;" in site
    assert site.count("server 127.0.0.1:900") == 3
    assert "127.0.0.1:8001" not in site and "127.0.0.1:8002" not in site
    assert Path(stackctl.SITE_CONFIG).read_text().count("internal;") == 1
