"""Sign-up, sign-in and sign-out as a visitor experiences them."""

import re

import pytest
import sqlalchemy as sa

from schoolmgr import passwords
from schoolmgr.models import Role, User
from tests.factories import PASSWORD


def without_csrf_tokens(page: str, email: str) -> str:
    """The page with the email written as EMAIL and without CSRF tokens, which carry the second
    they were made in: two answers that must be alike may differ only there."""
    return re.sub(r'name="csrf_token" value="[^"]+"', "", page).replace(email, "EMAIL")


def signup_form(**overrides):
    data = {
        "full_name": "Đorđe Čolić",
        "email": "Djordje.Colic@Example.org",
        "password": "a long enough password",
        "confirm": "a long enough password",
        "country": "RS",
        "institution": "Office for IT and eGovernment",
        "position": "Head of Unit",
    }
    data.update(overrides)
    return data


def test_signup_creates_a_participant_emails_a_welcome_and_asks_to_sign_in(client, db, outbox):
    response = client.post("/signup", data=signup_form(), follow_redirects=True)

    assert response.status_code == 200
    assert "Check your email" in response.text
    user = db.session.scalar(sa.select(User))
    assert user.email == "djordje.colic@example.org"
    assert user.role == Role.PARTICIPANT
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    (message,) = outbox
    assert message["To"] == "djordje.colic@example.org"
    assert "Your account at" in message.get_body(("plain",)).get_content()

    signed_in = client.post(
        "/login",
        data={"email": "djordje.colic@example.org", "password": "a long enough password"},
        follow_redirects=True,
    )
    assert "Signed in as Đorđe Čolić" in signed_in.text


def test_signup_with_a_taken_email_answers_the_same_and_notifies_the_owner(
    client, db, make_user, outbox, monkeypatch
):
    """Issue 12.4: no 409 telling that the address has an account; its owner gets a note."""
    hashed = []
    real = passwords.check
    monkeypatch.setattr(
        passwords,
        "check",
        lambda stored, password: hashed.append(password) or real(stored, password),
    )
    make_user(email="djordje.colic@example.org", full_name="Đorđe Čolić")

    pages = []
    for email in ("DJORDJE.COLIC@EXAMPLE.ORG", "someone.new@example.org"):
        response = client.post("/signup", data=signup_form(email=email))
        assert response.status_code == 302
        assert response.headers["Location"] == "/login"
        pages.append(without_csrf_tokens(client.get("/login").text, email.lower()))

    assert pages[0] == pages[1]
    assert "Check your email: we have sent a message to EMAIL" in pages[0]
    assert hashed == ["a long enough password"]  # the taken address costs a hash check too
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 2
    note, welcome = outbox
    assert note["To"] == "djordje.colic@example.org"
    assert "You already have an account" in note.get_body(("plain",)).get_content()
    assert welcome["To"] == "someone.new@example.org"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("password", "short", "at least 10"),
        ("confirm", "something else entirely", "Passwords do not match"),
        ("email", "not-an-email", "Invalid email"),
        ("full_name", "", "This field is required"),
        ("full_name", "Bad\x00Name", "not allowed"),
        ("country", "ZZ", "Not a valid choice"),
    ],
)
def test_signup_with_bad_input_shows_the_problem_and_stores_nothing(
    client, db, field, value, message
):
    response = client.post("/signup", data=signup_form(**{field: value}))

    assert response.status_code == 400
    assert message in response.text
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_login_is_case_insensitive_on_email(client, make_user):
    make_user(email="maja@example.org", full_name="Maja Kovačević")

    response = client.post(
        "/login", data={"email": "MAJA@Example.org", "password": PASSWORD}, follow_redirects=True
    )

    assert "Signed in as Maja Kovačević" in response.text


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, make_user):
    make_user(email="maja@example.org")

    response = client.post("/login", data={"email": "maja@example.org", "password": "wrong pass!"})

    assert response.status_code == 401
    assert "Wrong email or password" in response.text
    assert "Sign out" not in response.text


def test_unknown_email_gets_the_same_message(client):
    response = client.post("/login", data={"email": "nobody@example.org", "password": "whatever1"})

    assert response.status_code == 401
    assert "Wrong email or password" in response.text


def test_deactivated_user_cannot_sign_in(client, make_user):
    make_user(email="gone@example.org", active=False)

    response = client.post("/login", data={"email": "gone@example.org", "password": PASSWORD})

    assert response.status_code == 403
    assert "deactivated" in response.text


def test_deactivated_user_is_signed_out_of_an_existing_session(client, login, db):
    user = login()
    user.active = False
    db.session.commit()

    response = client.get("/")

    assert "Sign out" not in response.text


def test_password_change_ends_existing_sessions(client, login, db):
    user = login()
    assert "Sign out" in client.get("/").text

    user.set_password("a brand new password")
    user.session_version += 1
    db.session.commit()

    assert "Sign out" not in client.get("/").text


def test_logout_needs_post_and_signs_out(client, login):
    login()

    assert client.get("/logout").status_code == 405
    response = client.post("/logout", follow_redirects=True)

    assert "You have been signed out" in response.text
    assert "Sign in" in response.text


def test_login_follows_only_local_next_urls(client, make_user):
    make_user(email="maja@example.org")
    form = {"email": "maja@example.org", "password": PASSWORD}

    local = client.post("/login?next=/modules", data=form)
    assert local.headers["Location"] == "/modules"

    client.post("/logout")
    offsite = client.post("/login?next=https://evil.example.com/", data=form)
    assert offsite.headers["Location"] == "/"


def test_create_user_command_creates_staff(runner, db):
    result = runner.invoke(
        args=[
            "create-user", "--email", "Staff@Example.org", "--name", "Jelena Marković",
            "--role", "staff", "--password", "staff password 1",
        ]
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User))
    assert (user.email, user.role) == ("staff@example.org", Role.STAFF)
    assert user.check_password("staff password 1")


def test_create_user_command_refuses_a_duplicate(runner, make_user):
    make_user(email="staff@example.org")

    result = runner.invoke(
        args=["create-user", "--email", "STAFF@example.org", "--name", "X", "--password", "x" * 12]
    )

    assert result.exit_code != 0
    assert "already exists" in result.output


def test_sign_in_does_the_same_hash_work_for_unknown_emails(client, make_user, monkeypatch):
    """Issue 12.4: a wrong password for an existing account and any password for an unknown
    address (or an account without a password) each cost one password-hash check, and get
    the same answer."""
    checked = []
    real = passwords.check
    monkeypatch.setattr(
        passwords,
        "check",
        lambda stored, password: checked.append(stored.rsplit("$", 2)[0]) or real(stored, password),
    )
    make_user(email="maja@example.org")
    make_user(email="invited@example.org", password_hash=None)

    answers = []
    for email in ("maja@example.org", "nobody@example.org", "invited@example.org"):
        checked.clear()
        response = client.post("/login", data={"email": email, "password": "wrong password!"})
        answers.append((response.status_code, without_csrf_tokens(response.text, email)))
        assert len(checked) == 1, email
        # the same kind and cost of hash every time
        assert checked[0] == "$argon2id$v=19$m=19456,t=2,p=1", email

    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 401


@pytest.mark.parametrize("method", ["scrypt", "pbkdf2:sha256:600000"])
def test_an_older_password_hash_still_signs_in_and_is_replaced_by_argon2id(
    client, db, make_user, method
):
    """Accounts hashed before Argon2id (Werkzeug's scrypt, or pbkdf2 from an import) sign in
    as before; the right password stores a new hash, a wrong one changes nothing."""
    from werkzeug.security import generate_password_hash

    old = generate_password_hash("an old but good password", method=method)
    user = make_user(email="vesna@example.org", password_hash=old)

    wrong = client.post("/login", data={"email": user.email, "password": "not the password"})
    assert wrong.status_code == 401
    db.session.refresh(user)
    assert user.password_hash == old

    right = client.post(
        "/login",
        data={"email": user.email, "password": "an old but good password"},
        follow_redirects=True,
    )
    assert "Signed in as" in right.text
    db.session.refresh(user)
    assert user.password_hash.startswith("$argon2id$")
    client.post("/logout")
    again = client.post(
        "/login",
        data={"email": user.email, "password": "an old but good password"},
        follow_redirects=True,
    )
    assert "Signed in as" in again.text


def test_argon2_hashes_with_other_parameters_are_replaced_on_sign_in(client, db, make_user):
    from argon2 import PasswordHasher

    weaker = PasswordHasher(time_cost=1, memory_cost=8_192, parallelism=1)
    user = make_user(email="arben@example.org", password_hash=weaker.hash("a fine password!"))
    client.post("/login", data={"email": user.email, "password": "a fine password!"})
    db.session.refresh(user)
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
