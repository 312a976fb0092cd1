"""Password reset by email: a signed, expiring, single-use link that never reveals accounts."""

import re

import pytest
from freezegun import freeze_time

from schoolmgr.auth import services
from tests.factories import PASSWORD


def reset_link(message) -> str:
    body = message.get_body(("plain",)).get_content()
    return re.search(r"https?://\S+/reset-password/\S+", body).group(0)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_login_page_links_to_forgot_password(client):
    assert b'href="/forgot-password"' in client.get("/login").data


def test_reset_by_email_sets_the_password_and_signs_out_other_sessions(
    client, db, make_user, outbox
):
    user = make_user(email="jelena@example.org")
    old_version = user.session_version
    response = client.post("/forgot-password", data={"email": "JELENA@example.org"})
    assert response.status_code == 302
    (message,) = outbox
    assert message["To"] == "jelena@example.org"
    assert message["Subject"] == "Reset your password"
    path = path_of(reset_link(message))

    assert client.get(path).status_code == 200
    response = client.post(
        path, data={"password": "a brand new password", "confirm": "a brand new password"}
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.check_password("a brand new password")
    assert not user.check_password(PASSWORD)
    assert user.session_version == old_version + 1

    # Single use: the same link no longer works.
    response = client.post(
        path, data={"password": "yet another one!", "confirm": "yet another one!"}
    )
    assert response.status_code == 400
    assert b"already been used" in response.data
    db.session.refresh(user)
    assert user.check_password("a brand new password")


def test_unknown_email_gets_the_same_answer_and_no_mail(client, outbox, make_user):
    make_user(email="known@example.org")
    unknown = client.post(
        "/forgot-password", data={"email": "nobody@example.org"}, follow_redirects=True
    )
    known = client.post(
        "/forgot-password", data={"email": "known@example.org"}, follow_redirects=True
    )
    assert unknown.status_code == known.status_code == 200
    message = b"If an account uses this address"
    assert message in unknown.data and message in known.data
    assert [m["To"] for m in outbox] == ["known@example.org"]


def test_expired_and_tampered_links_are_refused(app, client, make_user):
    user = make_user()
    with freeze_time("2026-01-01 10:00:00"):
        token = services.password_reset_token(user)
    # PASSWORD_RESET_MAX_AGE is one hour.
    with freeze_time("2026-01-01 12:00:00"), pytest.raises(services.AuthError) as exc:
        services.user_for_reset_token(token)
    assert exc.value.code == "reset_link_expired"
    with pytest.raises(services.AuthError) as exc:
        services.user_for_reset_token(services.password_reset_token(user) + "x")
    assert exc.value.code == "reset_link_invalid"
    assert client.get("/reset-password/not-a-token").status_code == 400


def test_short_password_is_refused(client, db, make_user):
    user = make_user()
    path = f"/reset-password/{services.password_reset_token(user)}"
    response = client.post(path, data={"password": "short", "confirm": "short"})
    assert response.status_code == 400
    db.session.refresh(user)
    assert user.check_password(PASSWORD)


def test_forgot_password_is_rate_limited(app, database_url, tmp_path):
    from schoolmgr import create_app
    from schoolmgr.extensions import limiter

    limited = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "STORAGE_DIR": str(tmp_path / "storage"),
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    client = limited.test_client()
    try:
        codes = [
            client.post("/forgot-password", data={"email": f"x{i}@example.org"}).status_code
            for i in range(6)
        ]
    finally:
        limiter.enabled = False  # one limiter object is shared by every app in the process
    assert codes == [302] * 5 + [429]


def test_forgot_password_answers_after_the_same_floor_either_way(
    app, client, outbox, make_user, monkeypatch
):
    """Issue 12.4: sending the email takes time; both answers wait for the same floor, so the
    time does not tell whether the address has an account."""
    import schoolmgr.security

    waits = []
    monkeypatch.setattr(schoolmgr.security.time, "sleep", waits.append)
    app.config["FORGOT_PASSWORD_ANSWER_MS"] = 60_000
    make_user(email="known@example.org")

    for email in ("known@example.org", "nobody@example.org"):
        response = client.post("/forgot-password", data={"email": email})
        assert response.status_code == 302

    assert len(waits) == 2 and all(55 < wait <= 60 for wait in waits)
    assert [m["To"] for m in outbox] == ["known@example.org"]
