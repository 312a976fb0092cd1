"""Headers, cookies, request ids, error pages, /healthz and rate limits as a visitor meets them."""

import logging
import re

import pytest
from flask import abort
from freezegun import freeze_time

import config
from schoolmgr import create_app
from schoolmgr.extensions import limiter
from schoolmgr.models import User
from tests.factories import PASSWORD


def test_every_response_carries_the_security_headers(client):
    for path in ("/", "/login", "/no-such-page", "/healthz"):
        headers = client.get(path).headers

        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["X-Frame-Options"] == "DENY"
        # Plain HTTP outside production: browsers would ignore HSTS, and it must not leak there.
        assert "Strict-Transport-Security" not in headers


def test_a_header_a_page_sets_itself_is_kept_and_not_doubled(app, client):
    def embeddable():
        return "shown in a frame", 200, {"x-frame-options": "SAMEORIGIN"}

    app.add_url_rule("/_embeddable", "embeddable", embeddable)
    headers = client.get("/_embeddable").headers

    assert headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_templates_have_no_inline_scripts_or_event_handlers():
    """The CSP blocks them, so any that creep in would silently stop working."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "templates"
    offenders = []
    for path in root.rglob("*.html"):
        if "email" in path.parts:
            continue
        text = path.read_text()
        for match in re.finditer(r"<script\b[^>]*>", text):
            if "src=" not in match.group(0):
                offenders.append(f"{path.relative_to(root)}: inline <script>")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", text):
            offenders.append(f"{path.relative_to(root)}: on*= handler attribute")
        if "javascript:" in text:
            offenders.append(f"{path.relative_to(root)}: javascript: URL")
    assert offenders == []


@pytest.fixture
def production_app(monkeypatch, database_url, tmp_path):
    """The app exactly as production builds it: FLASK_CONFIG=production and secrets from env."""
    monkeypatch.setenv("FLASK_CONFIG", "production")
    monkeypatch.setenv("SECRET_KEY", "a" * 64)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setattr(config.ProductionConfig, "SQLALCHEMY_DATABASE_URI", database_url)
    monkeypatch.setattr(config.ProductionConfig, "STORAGE_DIR", str(tmp_path / "storage"))
    monkeypatch.setattr(config.ProductionConfig, "MAIL_BACKEND", "memory")
    monkeypatch.setattr(config.ProductionConfig, "RATELIMIT_ENABLED", False)
    return create_app()


def test_production_sends_hsts_and_secure_httponly_samesite_cookies(production_app, app, make_user):
    make_user(email="maja@example.org")
    client = production_app.test_client()

    page = client.get("/login", base_url="https://school.example.org")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    token = token or re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    response = client.post(
        "/login",
        base_url="https://school.example.org",
        headers={"Referer": "https://school.example.org/login"},  # CSRF checks it over HTTPS
        data={
            "email": "maja@example.org",
            "password": PASSWORD,
            "remember": "y",
            "csrf_token": token.group(1),
        },
    )

    assert response.status_code == 302
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert set(cookies) >= {"session", "remember_token"}
    for name in ("session", "remember_token"):
        attributes = [part.strip().lower() for part in cookies[name].split(";")]
        assert "secure" in attributes, name
        assert "httponly" in attributes, name
        assert "samesite=lax" in attributes, name


def test_production_refuses_to_start_without_its_secrets(monkeypatch):
    monkeypatch.setenv("FLASK_CONFIG", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_request_id_is_echoed_or_made_up_and_carried_in_log_records(client, caplog):
    given = client.get("/", headers={"X-Request-ID": "lb-1234.abc"})
    assert given.headers["X-Request-ID"] == "lb-1234.abc"

    made_up = client.get("/").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made_up)

    hostile = client.get("/", headers={"X-Request-ID": "<script>alert(1)</script>" + "z" * 100})
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["X-Request-ID"])

    with caplog.at_level(logging.WARNING, logger="schoolmgr"):
        client.post(
            "/login",
            data={"email": "nobody@example.org", "password": "wrong password"},
            headers={"X-Request-ID": "req-failed-signin"},
        )
    records = [r for r in caplog.records if "Failed sign-in" in r.getMessage()]
    assert [r.request_id for r in records] == ["req-failed-signin"]


def test_failed_sign_ins_are_logged_without_the_password(client, make_user, caplog):
    make_user(email="maja@example.org")

    with caplog.at_level(logging.WARNING, logger="schoolmgr"):
        client.post("/login", data={"email": "Maja@Example.org", "password": "guess number 1"})

    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("Failed sign-in" in m and "maja@example.org" in m for m in messages)
    assert not any("guess number 1" in m for m in messages)


@pytest.fixture
def crashing_app(app):
    """The test app with a route that fails, as a bug would, and production-like propagation."""

    def explode():
        raise RuntimeError("secret detail: password=hunter2 at /srv/app/models.py line 42")

    app.add_url_rule("/_test/explode", "test_explode", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def test_a_crash_shows_a_plain_500_page_with_a_reference_and_logs_the_traceback(
    crashing_app, caplog
):
    client = crashing_app.test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get("/_test/explode", headers={"X-Request-ID": "ref-500"})

    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "ref-500" in response.text
    for leak in ("Traceback", "hunter2", "RuntimeError", "models.py"):
        assert leak not in response.text
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and logged[0].request_id == "ref-500"
    assert "hunter2" in str(logged[0].exc_info[1])  # the detail goes to the log, not the page


def test_abort_404_and_403_use_the_styled_pages(app, client):
    app.add_url_rule("/_test/forbidden", "test_forbidden", lambda: abort(403))

    assert "Page not found" in client.get("/nowhere").text
    forbidden = client.get("/_test/forbidden")
    assert forbidden.status_code == 403
    assert "You do not have access" in forbidden.text


# /healthz


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path):
    unreachable = create_app(
        {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:9/none"}
    )

    response = unreachable.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "checks": {"database": "unreachable"}}


def test_healthz_answers_503_quickly_while_the_sqlite_file_is_locked(tmp_path):
    """Issue 12.7: `SELECT 1` answered while another process held the database locked."""
    import sqlite3

    from schoolmgr.extensions import db

    path = tmp_path / "locked.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "HEALTHZ_TIMEOUT_MS": 300})
    with app.app_context():
        db.create_all()
    client = app.test_client()
    assert client.get("/healthz").status_code == 200

    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("BEGIN EXCLUSIVE")  # e.g. a long migration or a stuck writer
    try:
        locked = client.get("/healthz")
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()

    assert locked.status_code == 503
    assert locked.json["checks"] == {"database": "unreachable"}
    assert client.get("/healthz").status_code == 200  # healthy again once the lock is gone
    with app.app_context():  # the health check left the pooled connection's lock wait alone
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        db.engine.dispose()


def test_healthz_answers_503_when_the_tables_are_missing(tmp_path):
    empty = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.sqlite3'}"})

    assert empty.test_client().get("/healthz").status_code == 503


def test_healthz_checks_redis_when_configured(database_url):
    def app_with_redis(url):
        return create_app(
            {
                "SQLALCHEMY_DATABASE_URI": database_url,
                "REDIS_URL": url,
                "RATELIMIT_STORAGE_URI": "memory://",
            }
        )

    down = app_with_redis("redis://127.0.0.1:9/0").test_client().get("/healthz")
    assert down.status_code == 503
    assert down.json["checks"] == {"database": "ok", "redis": "unreachable"}

    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no local Redis to check the healthy case against")
    up = app_with_redis("redis://127.0.0.1:6379/0").test_client().get("/healthz")
    assert up.status_code == 200
    assert up.json["checks"] == {"database": "ok", "redis": "ok"}


# Rate limits


@pytest.fixture
def limited_client(app, database_url, tmp_path):
    """A client of an app with rate limiting on (fresh in-memory counters), on the test database."""
    limited = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "STORAGE_DIR": str(tmp_path / "storage"),
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    yield limited.test_client()
    limiter.enabled = False  # the limiter is one object shared by every app in the process


def test_sign_in_is_limited_and_the_429_page_says_when_to_try_again(limited_client, db):
    for _ in range(10):
        response = limited_client.post(
            "/login", data={"email": "nobody@example.org", "password": "wrong password"}
        )
        assert response.status_code == 401

    refused = limited_client.post(
        "/login", data={"email": "nobody@example.org", "password": "wrong password"}
    )

    assert refused.status_code == 429
    assert "Too many requests" in refused.text
    seconds = int(refused.headers["Retry-After"])
    assert 0 < seconds <= 60
    match = re.search(r"Please try again in (\d+) seconds", refused.text)
    assert match and abs(int(match.group(1)) - seconds) <= 1
    # Reading the page is never limited.
    assert limited_client.get("/login").status_code == 200


def test_the_sign_in_limit_counts_the_last_minute_not_a_window_that_restarts(limited_client, db):
    """A moving window: one guess, nine more 50 s later, and at 61 s only one more gets through
    (a window restarting at 60 s would allow ten more: nineteen guesses in eleven seconds)."""

    def guess():
        return limited_client.post(
            "/login", data={"email": "nobody@example.org", "password": "wrong password"}
        )

    # In the future: the in-memory store's expiry thread runs on the real clock (freezegun leaves
    # threading alone) and would otherwise drop entries that are "old" by the real time.
    with freeze_time("2099-11-30 12:00:00") as clock:
        assert guess().status_code == 401
        clock.move_to("2099-11-30 12:00:50")
        assert [guess().status_code for _ in range(9)] == [401] * 9
        clock.move_to("2099-11-30 12:01:01")
        assert [guess().status_code for _ in range(3)] == [401, 429, 429]


def test_sign_up_is_limited_per_hour_and_the_page_says_so_in_minutes(limited_client, db):
    for n in range(10):
        limited_client.post("/signup", data={"email": f"not-an-email-{n}"})

    refused = limited_client.post("/signup", data={"email": "x"})

    assert refused.status_code == 429
    assert re.search(r"Please try again in (\d+) minutes", refused.text)
    assert db.session.query(User).count() == 0


def test_huge_guessed_ids_in_urls_are_404_not_500(app, client, login):
    from schoolmgr.models import Role

    login(role=Role.STAFF)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    for url in (
        "/me/certificates/99999999999999999999.pdf",
        "/staff/people/99999999999999999999",
        "/staff/editions/2147483648",
        "/trainer/sessions/9223372036854775808",
    ):
        assert client.get(url).status_code == 404, url


def test_nul_bytes_anywhere_in_a_request_get_a_400_page_not_a_500(app, client, make_user):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    make_user(email="maja@example.org")

    login = client.post("/login", data={"email": "maja\x00@example.org", "password": "x" * 10})
    in_path = client.get("/editions/a%00b")
    in_query = client.get("/", query_string={"page": "1\x00"})

    for response in (login, in_path, in_query):
        assert response.status_code == 400
        assert "characters that are not allowed" in response.text


@pytest.mark.parametrize(
    ("method", "path", "allowed", "signed_in"),
    [
        ("POST", "/login", 10, False),
        ("POST", "/signup", 10, False),
        ("POST", "/forgot-password", 5, False),
        ("POST", "/reset-password/not-a-token", 5, False),
        ("POST", "/checkin", 20, True),
        ("POST", "/account/password", 10, True),
        ("POST", "/privacy/delete", 10, True),
        ("GET", "/verify/K7QH-M3XD-9RTA-C4WE-PZ2N", 30, False),
        ("GET", "/verify/K7QH-M3XD-9RTA-C4WE-PZ2N.json", 30, False),
        ("GET", "/verify?code=K7QH-M3XD-9RTA-C4WE-PZ2N", 30, False),
    ],
)
def test_abuse_prone_routes_are_rate_limited_with_a_clear_429(
    limited_client, make_user, method, path, allowed, signed_in
):
    if signed_in:
        user = make_user()
        with limited_client.session_transaction() as session:
            session["_user_id"] = user.get_id()
    data = {"email": "someone@example.org", "code": "ABC123"} if method == "POST" else None

    statuses = [limited_client.open(path, method=method, data=data).status_code]
    statuses += [
        limited_client.open(path, method=method, data=data).status_code for _ in range(allowed - 1)
    ]
    refused = limited_client.open(path, method=method, data=data)

    assert 429 not in statuses, statuses
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert re.search(r"Please try again in \d+ (seconds|minutes)", refused.text)


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(app, make_user):
    if "account.password" not in app.view_functions:
        pytest.skip("the password change page is not there yet")
    make_user(email="maja@example.org")
    laptop, phone = app.test_client(), app.test_client()
    for device in (laptop, phone):
        response = device.post(
            "/login", data={"email": "maja@example.org", "password": PASSWORD, "remember": "y"}
        )
        assert response.status_code == 302
    assert phone.get("/privacy/").status_code == 200

    changed = laptop.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )

    assert changed.status_code == 302
    assert laptop.get("/privacy/").status_code == 200  # this device stays signed in
    signed_out = phone.get("/privacy/")  # the other one, even with its remember-me cookie
    assert signed_out.status_code == 302
    assert "/login" in signed_out.headers["Location"]


def test_rate_limits_are_kept_in_redis_when_redis_url_is_set(database_url, tmp_path):
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no local Redis")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "STORAGE_DIR": str(tmp_path / "storage"),
            "REDIS_URL": url,
            "RATELIMIT_ENABLED": True,
        }
    )
    try:
        assert app.config["RATELIMIT_STORAGE_URI"] == url
        assert type(limiter.storage).__name__ == "RedisStorage"
        limiter.reset()
        client = app.test_client()
        data = {"email": "nobody@example.org", "password": "wrong password"}
        statuses = [client.post("/login", data=data).status_code for _ in range(11)]
        assert statuses[-1] == 429 and 429 not in statuses[:-1]
        # A second app (another gunicorn worker) shares the count through Redis.
        other_worker = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": database_url,
                "REDIS_URL": url,
                "RATELIMIT_ENABLED": True,
            }
        )
        assert other_worker.test_client().post("/login", data=data).status_code == 429
    finally:
        limiter.reset()
        limiter.enabled = False


@pytest.mark.parametrize(
    ("path", "field"), [("/account/password", "current_password"), ("/privacy/delete", "password")]
)
def test_current_password_guesses_are_limited_per_account_like_sign_in(
    limited_client, make_user, db, path, field
):
    """Issue 12.5: ten wrong guesses, then even the right password is refused for a while,
    from any client address."""
    user = make_user()
    with limited_client.session_transaction() as session:
        session["_user_id"] = user.get_id()
    data = {"new_password": "a brand new passphrase", "confirm": "a brand new passphrase"}
    for n in range(10):
        address = {"REMOTE_ADDR": f"198.51.100.{n}"}
        guess = limited_client.post(
            path, data={**data, field: f"guess number {n}"}, environ_base=address
        )
        assert guess.status_code == 400

    refused = limited_client.post(path, data={**data, field: PASSWORD})

    assert refused.status_code == 429
    db.session.refresh(user)
    assert user.check_password(PASSWORD) and user.anonymised_at is None


def _sign_in_statuses(client, address: str, count: int) -> list[int]:
    data = {"email": "nobody@example.org", "password": "wrong password"}
    return [
        client.post(
            "/login",
            data=data,
            headers={"X-Forwarded-For": address},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},  # the reverse proxy
        ).status_code
        for _ in range(count)
    ]


def test_behind_a_trusted_proxy_rate_limits_key_on_the_client_address(database_url, tmp_path):
    """Issue 12.9: with TRUSTED_PROXIES=1 two clients behind the same proxy have a budget each."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "STORAGE_DIR": str(tmp_path / "storage"),
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "TRUSTED_PROXIES": 1,
        }
    )
    try:
        limiter.reset()
        client = app.test_client()
        first = _sign_in_statuses(client, "203.0.113.7", 11)
        second = _sign_in_statuses(client, "198.51.100.9", 1)
        # A client cannot pick its address by sending the header itself: the proxy appends the
        # address it saw, and only that last value is believed.
        spoofed = _sign_in_statuses(client, "198.51.100.9, 203.0.113.7", 1)
    finally:
        limiter.reset()
        limiter.enabled = False

    assert first[-1] == 429 and 429 not in first[:-1]
    assert second == [401]
    assert spoofed == [429]


def test_without_trusted_proxies_forwarded_headers_are_ignored(database_url, tmp_path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "STORAGE_DIR": str(tmp_path / "storage"),
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    try:
        limiter.reset()
        client = app.test_client()
        statuses = _sign_in_statuses(client, "203.0.113.7", 10)
        other_header = _sign_in_statuses(client, "198.51.100.9", 1)
    finally:
        limiter.reset()
        limiter.enabled = False

    assert 429 not in statuses
    assert other_header == [429]  # one budget: the proxy's (here: the direct client's) address
