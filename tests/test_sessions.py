"""Signing out, deactivation and role changes end the sign-in on the server (issue 12.1): a
cookie copied before is refused afterwards, by every app process sharing the database."""

from datetime import timedelta

import sqlalchemy as sa

from schoolmgr import create_app
from schoolmgr.models import Role, UserSession
from tests.factories import PASSWORD

PRIVATE = ("/me/registrations", "/privacy/export.json")


def sign_in(client, email: str, remember: bool = False):
    data = {"email": email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.text
    return response


def copy_cookies(source, target) -> None:
    """What a thief with the browser's cookie jar (session and remember-me) can do."""
    for name in ("session", "remember_token"):
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value)


def assert_signed_out(client) -> None:
    for url in PRIVATE:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"], url


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app, make_user):
    make_user(email="maja@example.org")
    browser, thief = app.test_client(), app.test_client()
    sign_in(browser, "maja@example.org", remember=True)
    copy_cookies(browser, thief)
    assert thief.get("/privacy/export.json").status_code == 200  # the copy works while signed in

    assert browser.post("/logout").status_code == 302

    assert_signed_out(thief)
    assert_signed_out(browser)


def test_signing_out_on_one_device_leaves_the_other_signed_in(app, make_user, db):
    make_user(email="maja@example.org")
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, "maja@example.org")
    sign_in(phone, "maja@example.org")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 2

    laptop.post("/logout")

    assert phone.get("/me/registrations").status_code == 200
    assert_signed_out(laptop)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 1


def test_sign_out_in_one_app_process_is_seen_by_another(app, database_url, tmp_path, make_user):
    make_user(email="maja@example.org")
    other_process = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "STORAGE_DIR": str(tmp_path / "storage")}
    )
    browser = app.test_client()
    sign_in(browser, "maja@example.org", remember=True)
    thief = other_process.test_client()
    copy_cookies(browser, thief)
    with other_process.app_context():
        assert thief.get("/me/registrations").status_code == 200

    browser.post("/logout")

    with other_process.app_context():
        assert_signed_out(thief)


def test_deactivation_refuses_every_earlier_cookie_of_the_user(app, make_user):
    maja = make_user(email="maja@example.org")
    browser, thief = app.test_client(), app.test_client()
    sign_in(browser, "maja@example.org", remember=True)
    copy_cookies(browser, thief)
    staff = app.test_client()
    sign_in(staff, make_user(role=Role.STAFF).email)

    response = staff.post(f"/staff/people/{maja.id}/active", data={"reason": "left"})

    assert response.status_code == 302
    assert_signed_out(thief)
    assert_signed_out(browser)


def test_a_role_change_refuses_every_earlier_cookie_of_the_user(app, make_user):
    trainer = make_user(email="trainer@example.org", role=Role.TRAINER)
    browser = app.test_client()
    sign_in(browser, "trainer@example.org", remember=True)
    assert browser.get("/trainer/").status_code == 200
    admin = app.test_client()
    sign_in(admin, make_user(role=Role.ADMIN).email)

    response = admin.post(f"/staff/people/{trainer.id}/role", data={"role": "participant"})

    assert response.status_code == 302
    assert_signed_out(browser)


def test_a_sign_in_expires_after_the_session_max_age(app, make_user, db):
    app.config["SESSION_MAX_AGE"] = 60 * 60 * 24 * 30
    make_user(email="maja@example.org")
    browser = app.test_client()
    sign_in(browser, "maja@example.org", remember=True)
    assert browser.get("/me/registrations").status_code == 200
    row = db.session.scalar(sa.select(UserSession))
    row.created_at -= timedelta(days=31)
    db.session.commit()

    assert_signed_out(browser)
