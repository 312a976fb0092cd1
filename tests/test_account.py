"""Every signed-in user edits their own profile and password."""

import pytest
import sqlalchemy as sa

from schoolmgr.account import services
from schoolmgr.account.services import AccountError
from schoolmgr.models import Country, User
from tests.factories import PASSWORD


def test_profile_needs_sign_in(client):
    assert "/login" in client.get("/account/").headers["Location"]


def test_user_edits_their_profile(client, login, db):
    user = login()
    page = client.get("/account/")
    assert 'value="Ministry of Public Administration"' in page.text
    response = client.post(
        "/account/",
        data={
            "full_name": "Đurđa Đurić",
            "institution": "Ministarstvo javne uprave",
            "position": "Šefica odsjeka",
            "country": "ME",
            "preferred_language": "cnr",
        },
        follow_redirects=True,
    )
    assert "Your profile is saved" in response.text
    stored = db.session.get(User, user.id)
    assert (stored.full_name, stored.country, stored.preferred_language) == (
        "Đurđa Đurić",
        Country.MONTENEGRO,
        "cnr",
    )
    assert "djurdja djuric" in stored.search_key


def test_bad_profile_input_is_refused(client, login, db):
    user = login()
    response = client.post(
        "/account/",
        data={"full_name": "", "preferred_language": "xx", "country": "RS"},
    )
    assert response.status_code == 400
    assert db.session.get(User, user.id).full_name == user.full_name


def test_change_password_keeps_this_session_and_ends_others(app, client, login, db):
    user = login()
    other = app.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = user.get_id()

    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a brand new password",
            "confirm": "a brand new password",
        },
        follow_redirects=True,
    )

    assert "Your password is changed" in response.text
    assert db.session.get(User, user.id).check_password("a brand new password")
    assert client.get("/account/").status_code == 200
    assert other.get("/account/").status_code == 302


def test_wrong_current_password_is_refused(client, login, db):
    user = login()
    response = client.post(
        "/account/password",
        data={
            "current_password": "not it at all",
            "new_password": "a brand new password",
            "confirm": "a brand new password",
        },
    )
    assert response.status_code == 400
    assert "current password is not correct" in response.text
    assert db.session.get(User, user.id).check_password(PASSWORD)


@pytest.mark.parametrize(
    ("current", "new", "code"),
    [
        ("wrong one here", "a long new password", "wrong_password"),
        (PASSWORD, "short", "weak_password"),
        (PASSWORD, PASSWORD, "same_password"),
    ],
)
def test_password_rules(db, make_user, current, new, code):
    user = make_user()
    with pytest.raises(AccountError) as exc:
        services.change_password(user, current, new)
    assert exc.value.code == code


def test_csrf_is_enforced_on_the_password_form(app, client, login):
    app.config["WTF_CSRF_ENABLED"] = True
    login()
    response = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "x" * 12, "confirm": "x" * 12},
    )
    assert response.status_code == 400


def test_profile_change_is_audited(db, make_user):
    from schoolmgr.models import AuditEvent

    user = make_user(position="Officer")
    services.update_profile(
        user,
        full_name=user.full_name,
        institution=user.institution,
        position="Head of Unit",
        country="RS",
        preferred_language="sr-Cyrl",
    )
    event = db.session.scalar(sa.select(AuditEvent))
    assert event.before == {"position": "Officer", "preferred_language": "en"}
