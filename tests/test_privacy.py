"""A participant's own data: download it, delete the account; staff's retention command."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from schoolmgr.models import (
    AttendanceStatus,
    AuditEvent,
    Certificate,
    EmailStatus,
    OutboundEmail,
    Registration,
    RegistrationStatus,
    Role,
    User,
)
from schoolmgr.privacy import services
from tests.factories import PASSWORD

MAJA_CODE = "K7QH-M3XD-9RTA-C4WE-PZ2N"


@pytest.fixture
def maja(make_user, make_edition, make_registration, make_attendance, make_certificate, db):
    """A participant of a past edition, with attendance, a certificate and an email."""
    user = make_user(
        email="maja@example.org",
        full_name="Maja Kovačević",
        institution="Ministry of Public Administration",
    )
    past = make_edition(past=True, title="Seasonal School on Digital Transformation")
    registration = make_registration(
        user=user, edition=past, motivation="Lead our eGov unit", needs="Wheelchair access"
    )
    make_attendance(
        registration=registration,
        session__edition_module__edition=past,
        status=AttendanceStatus.PRESENT,
        comment="Arrived with Maja's colleague",
    )
    make_certificate(
        registration=registration,
        verification_code=MAJA_CODE,
        snapshot={"name": "Maja Kovačević", "edition": past.title},
    )
    db.session.add(
        OutboundEmail(
            recipient="maja@example.org",
            subject="Your certificate, Maja Kovačević",
            body_text="Dear Maja Kovačević",
            template="certificate_issued",
            status=EmailStatus.SENT,
        )
    )
    db.session.add(
        AuditEvent(
            action="registration.accepted",
            target_type="registration",
            target_id=registration.id,
            summary="Accepted Maja Kovačević (maja@example.org)",
        )
    )
    db.session.commit()
    return user


def test_the_privacy_page_needs_sign_in(client):
    response = client.get("/privacy/")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert client.get("/privacy/export.json").status_code == 302


def test_a_participant_downloads_everything_held_about_them_and_nothing_of_others(
    client, login, maja, make_registration, make_user
):
    other = make_user(email="petar@example.org", full_name="Petar Petrović")
    make_registration(user=other, motivation="Petar's secret motivation")
    login(maja)

    response = client.get("/privacy/export.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    data = json.loads(response.data)
    assert data["account"]["email"] == "maja@example.org"
    assert data["account"]["full_name"] == "Maja Kovačević"
    [registration] = data["registrations"]
    assert registration["edition"] == "Seasonal School on Digital Transformation"
    assert registration["motivation"] == "Lead our eGov unit"
    assert registration["needs"] == "Wheelchair access"
    assert registration["attendance"][0]["status"] == "present"
    assert registration["attendance"][0]["comment"] == "Arrived with Maja's colleague"
    assert data["certificates"][0]["verification_code"] == MAJA_CODE
    assert data["emails"][0]["subject"] == "Your certificate, Maja Kovačević"
    assert data["records_about_you"][0]["action"] == "registration.accepted"
    assert "Petar" not in response.text
    assert "password" not in response.text.lower()


def test_the_page_explains_what_is_held_and_that_certificates_stay_verifiable(client, login, maja):
    login(maja)

    page = client.get("/privacy/")

    assert page.status_code == 200
    assert "Download all my data" in page.text
    assert "Certificates already issued stay verifiable" in page.text
    assert "name as it was printed" in page.text
    assert "5 years" in page.text


def test_deleting_the_account_anonymises_personal_data_and_signs_out(client, login, maja, db):
    login(maja)
    registration_id = db.session.scalar(sa.select(Registration.id))

    response = client.post(
        "/privacy/delete", data={"password": PASSWORD, "confirm": "y"}, follow_redirects=True
    )

    assert response.status_code == 200
    assert "Your account has been deleted" in response.text
    assert "Sign out" not in response.text  # signed out
    db.session.expire_all()
    user = db.session.get(User, maja.id)
    assert user.anonymised_at is not None
    assert user.full_name == "Anonymised participant"
    assert user.email == f"anonymised-{maja.id}@invalid"
    assert (user.institution, user.position, user.country) == ("", "", None)
    assert user.password_hash is None and not user.active
    assert "maja" not in user.search_key and "kovacevic" not in user.search_key
    registration = db.session.get(Registration, registration_id)
    assert (registration.motivation, registration.needs) == ("", "")
    assert registration.status == RegistrationStatus.ACCEPTED  # statistics keep counting
    assert all(a.comment == "" for a in registration_attendances(db, registration_id))
    email = db.session.scalar(sa.select(OutboundEmail))
    assert "Maja" not in email.subject + email.body_text + email.recipient
    # The issued certificate still states the printed name and still verifies.
    certificate = db.session.scalar(sa.select(Certificate))
    assert certificate.snapshot["name"] == "Maja Kovačević"
    assert certificate.status == "valid"
    # The audit trail keeps the event but not the name.
    summaries = [e.summary for e in db.session.scalars(sa.select(AuditEvent))]
    assert "Accepted [anonymised] ([anonymised])" in summaries
    assert any("anonymised" in s and "request" in s for s in summaries)
    # Nobody can sign in as her any more.
    again = client.post("/login", data={"email": "maja@example.org", "password": PASSWORD})
    assert again.status_code == 401


def registration_attendances(db, registration_id):
    from schoolmgr.models import Attendance

    return db.session.scalars(
        sa.select(Attendance).where(Attendance.registration_id == registration_id)
    ).all()


def test_certificate_verification_shows_the_printed_name_after_deletion(
    app, client, login, maja, db
):
    if "certificates.verify" not in app.view_functions:
        pytest.skip("the certificate verification page is not there yet")
    login(maja)
    client.post("/privacy/delete", data={"password": PASSWORD, "confirm": "y"})

    page = client.get(f"/verify/{MAJA_CODE}")

    assert page.status_code == 200
    assert "Maja Kovačević" in page.text


def test_deleting_needs_the_right_password_and_the_tick(client, login, maja, db):
    login(maja)

    wrong = client.post("/privacy/delete", data={"password": "not my password", "confirm": "y"})
    unticked = client.post("/privacy/delete", data={"password": PASSWORD})

    assert wrong.status_code == 400
    assert "The password is not correct" in wrong.text
    assert unticked.status_code == 400
    assert "Tick the box" in unticked.text
    db.session.expire_all()
    assert db.session.get(User, maja.id).anonymised_at is None


def test_a_participant_with_an_upcoming_registration_must_cancel_it_first(
    client, login, maja, make_registration, db
):
    upcoming = make_registration(user=maja, status=RegistrationStatus.PENDING)
    login(maja)

    page = client.get("/privacy/")
    response = client.post("/privacy/delete", data={"password": PASSWORD, "confirm": "y"})

    assert upcoming.edition.title in page.text
    assert response.status_code == 409
    assert "Cancel that registration first" in response.text
    db.session.expire_all()
    assert db.session.get(User, maja.id).anonymised_at is None


def test_staff_cannot_delete_their_own_account_here(client, login, make_user, db):
    staff = login(make_user(role=Role.STAFF))

    page = client.get("/privacy/")
    response = client.post("/privacy/delete", data={"password": PASSWORD, "confirm": "y"})

    assert "closed by an administrator" in page.text
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(User, staff.id).anonymised_at is None


def test_the_delete_form_refuses_a_post_without_csrf_token(app, client, login, maja, db):
    app.config["WTF_CSRF_ENABLED"] = True
    login(maja)

    response = client.post("/privacy/delete", data={"password": PASSWORD, "confirm": "y"})

    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(User, maja.id).anonymised_at is None


def test_export_uses_a_fixed_number_of_queries(client, login, maja, make_registration, db):
    from tests.querycount import count_queries

    login(maja)
    with count_queries() as few:
        client.get("/privacy/export.json")
    for _ in range(5):
        make_registration(user=maja, status=RegistrationStatus.CANCELLED)
    with count_queries() as many:
        client.get("/privacy/export.json")

    assert many.count == few.count


# Retention


def test_retention_cutoff_handles_leap_days():
    assert services.retention_cutoff(date(2028, 2, 29), 5) == date(2023, 2, 28)
    assert services.retention_cutoff(date(2026, 11, 27), 5) == date(2021, 11, 27)


def test_anonymise_expired_takes_only_idle_participants_of_old_editions(
    runner, db, maja, make_user, make_edition, make_registration
):
    # maja: only a 2019 edition, never signed in since -> anonymised.
    recent = make_user(email="recent@example.org")
    make_registration(user=recent, edition=make_edition(past=True))
    make_registration(user=recent, edition=make_edition())  # also registered for a new one
    active = make_user(email="active@example.org", last_login_at=datetime.now(UTC))
    make_registration(user=active, edition=make_edition(past=True))
    trainer = make_user(email="trainer@example.org", role=Role.TRAINER)
    make_registration(user=trainer, edition=make_edition(past=True))
    never_registered = make_user(email="new@example.org")

    dry = runner.invoke(args=["privacy", "anonymise-expired", "--dry-run"])
    assert "Would anonymise 1 participants (retention 5 years)" in dry.output
    db.session.expire_all()
    assert db.session.get(User, maja.id).anonymised_at is None

    result = runner.invoke(args=["privacy", "anonymise-expired"])

    assert result.exit_code == 0, result.output
    assert "Anonymised 1 participants" in result.output
    db.session.expire_all()
    assert db.session.get(User, maja.id).anonymised_at is not None
    for kept in (recent, active, trainer, never_registered):
        assert db.session.get(User, kept.id).anonymised_at is None
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.reason == "retention"))
    assert event.target_id == maja.id and event.actor_id is None
    # Running again changes nothing.
    assert (
        "Anonymised 0 participants" in runner.invoke(args=["privacy", "anonymise-expired"]).output
    )


def test_a_long_retention_period_keeps_everyone(runner, maja, db):
    years = date.today().year - 2019 + 1
    result = runner.invoke(args=["privacy", "anonymise-expired", "--years", str(years)])

    assert f"Anonymised 0 participants (retention {years} years)" in result.output


def test_anonymising_twice_is_refused(maja, db):
    services.anonymise_user(maja)
    db.session.commit()

    with pytest.raises(services.PrivacyError) as exc:
        services.anonymise_user(maja)
    assert exc.value.code == "already_anonymised"


def test_recent_sign_in_postpones_anonymisation(maja, db):
    maja.last_login_at = datetime.now(UTC) - timedelta(days=30)
    db.session.commit()

    assert services.expired_participants(date.today(), 5) == []
