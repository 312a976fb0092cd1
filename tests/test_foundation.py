"""Foundation rules: role checks, search folding, DB constraints, config, demo data, mail."""

import smtplib
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from config import ProductionConfig
from schoolmgr import create_app
from schoolmgr.auth.access import role_required
from schoolmgr.demo import seed_demo
from schoolmgr.mail import deliver_pending, queue_email
from schoolmgr.models import (
    Attendance,
    Country,
    EmailStatus,
    OutboundEmail,
    Registration,
    RegistrationStatus,
    Role,
    User,
    utcnow,
)
from schoolmgr.text import fold, search_terms


@pytest.fixture
def guarded_app(app):
    @app.route("/_test/staff-only")
    @role_required(Role.STAFF)
    def staff_only():
        return "staff page"

    @app.route("/_test/trainers")
    @role_required(Role.TRAINER)
    def trainers_only():
        return "trainer page"

    return app


@pytest.mark.parametrize(
    ("path", "role", "status"),
    [
        ("/_test/staff-only", None, 302),
        ("/_test/staff-only", Role.PARTICIPANT, 403),
        ("/_test/staff-only", Role.TRAINER, 403),
        ("/_test/staff-only", Role.STAFF, 200),
        ("/_test/staff-only", Role.ADMIN, 200),
        ("/_test/trainers", Role.TRAINER, 200),
        ("/_test/trainers", Role.PARTICIPANT, 403),
    ],
)
def test_role_required_sends_anonymous_to_sign_in_and_others_to_403(
    guarded_app, client, login, path, role, status
):
    if role:
        login(role=role)

    response = client.get(path)

    assert response.status_code == status
    if status == 302:
        assert response.headers["Location"].startswith("/login?next=")
    if status == 403:
        assert "You do not have access to this page" in response.text


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Đorđe Čolić", "djordje colic"),
        ("Ђорђе Чолић", "djordje colic"),
        ("Ëndrit Hoxha", "endrit hoxha"),
        ("Ardita Çela", "ardita cela"),
        ("Ѓорѓи Ѕвезданоски", "gjorgji dzvezdanoski"),
        ("  ŠARIĆ   Žana ", "saric zana"),
    ],
)
def test_fold_makes_names_searchable_without_diacritics_or_cyrillic(text, folded):
    assert fold(text) == folded


def test_search_key_finds_people_typed_without_diacritics(db, make_user):
    make_user(full_name="Đorđe Čolić", institution="Office for IT and eGovernment")
    make_user(full_name="Ђорђе Јовановић")
    make_user(full_name="Maja Kovačević")

    def search(query):
        conditions = [User.search_key.contains(term) for term in search_terms(query)]
        return sorted(db.session.scalars(sa.select(User.full_name).where(*conditions)))

    assert search("Colic") == ["Đorđe Čolić"]
    assert search("djordje") == ["Đorđe Čolić", "Ђорђе Јовановић"]
    assert search("egovernment") == ["Đorđe Čolić"]


def test_email_is_unique_whatever_its_case(db, make_user):
    make_user(email="Maja@Example.org")

    with pytest.raises(sa.exc.IntegrityError):
        db.session.add(User(email="MAJA@example.org", full_name="Other"))
        db.session.commit()
    db.session.rollback()


def test_one_registration_per_person_and_edition(db, make_registration):
    registration = make_registration()

    with pytest.raises(sa.exc.IntegrityError):
        db.session.add(
            Registration(user=registration.user, edition=registration.edition, consent_at=utcnow())
        )
        db.session.commit()
    db.session.rollback()


def test_waitlist_position_exists_exactly_for_waitlisted_registrations(db, make_registration):
    with pytest.raises(sa.exc.IntegrityError):
        make_registration(status=RegistrationStatus.ACCEPTED, waitlist_position=3)
    db.session.rollback()
    with pytest.raises(sa.exc.IntegrityError):
        make_registration(status=RegistrationStatus.WAITLISTED, waitlist_position=None)
    db.session.rollback()


def test_edition_dates_capacity_and_threshold_are_checked_by_the_database(db, make_edition):
    for bad in (
        {"start_date": date(2020, 5, 2), "end_date": date(2020, 5, 1)},
        {"capacity": -1},
        {"certificate_threshold": 101},
    ):
        with pytest.raises(sa.exc.IntegrityError):
            make_edition(**bad)
        db.session.rollback()


def test_one_attendance_mark_per_session_and_registration(db, make_attendance):
    mark = make_attendance()

    with pytest.raises(sa.exc.IntegrityError):
        db.session.add(
            Attendance(
                session=mark.session,
                registration=mark.registration,
                status=mark.status,
                method=mark.method,
            )
        )
        db.session.commit()
    db.session.rollback()


def test_times_come_back_timezone_aware_in_utc(db, make_session):
    session = make_session()
    db.session.expire_all()

    assert session.starts_at.utcoffset() == timedelta(0)


def test_production_refuses_to_start_without_secrets(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("FLASK_CONFIG", "production")

    with pytest.raises(RuntimeError, match="SECRET_KEY, DATABASE_URL"):
        create_app()


def test_production_starts_with_secrets_and_secure_cookies(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:p@db.example.org/schoolmgr")
    monkeypatch.setenv("FLASK_CONFIG", "production")
    ProductionConfig.validate()

    app = create_app()

    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_seed_demo_is_idempotent_and_realistic(db):
    first = seed_demo()
    second = seed_demo()

    assert first == second
    names = set(db.session.scalars(sa.select(User.full_name)))
    assert {"Đorđe Čolić", "Ëndrit Hoxha", "Ђорђе Јовановић"} <= names
    assert first["users"] >= 60
    statuses = set(db.session.scalars(sa.select(Registration.status).distinct()))
    assert statuses == set(RegistrationStatus)
    countries = set(db.session.scalars(sa.select(User.country).distinct()))
    assert set(Country) <= countries
    assert first["attendances"] > 0


def test_seed_demo_command_reports_and_skips_a_non_empty_database(runner, make_user):
    make_user()

    result = runner.invoke(args=["seed-demo", "--if-empty"])

    assert "not loaded" in result.output


def test_queued_email_is_delivered_after_commit(app, db, outbox, make_user):
    user = make_user(email="maja@example.org")
    with app.test_request_context():
        queue_email(user.email, "_test", "Hello Maja", name="Maja")
    db.session.commit()

    assert deliver_pending() == (1, 0)

    assert outbox[-1]["To"] == "maja@example.org"
    assert outbox[-1]["Subject"] == "Hello Maja"
    assert "Dear Maja" in outbox[-1].get_body(("plain",)).get_content()


def test_failing_mail_server_keeps_the_message_for_a_retry(app, db, monkeypatch, make_user):
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=9)

    def refuse(*args, **kwargs):
        raise smtplib.SMTPConnectError(421, "unavailable")

    monkeypatch.setattr(smtplib, "SMTP", refuse)
    with app.test_request_context():
        queue_email("maja@example.org", "_test", "Hello", name="Maja")
    db.session.commit()

    assert deliver_pending() == (0, 1)

    email = db.session.scalar(sa.select(OutboundEmail))
    assert email.status == EmailStatus.PENDING
    assert email.attempts == 1
    assert "unavailable" in email.last_error
    assert email.next_attempt_at > utcnow()
