"""Invitation letters: the PDF says who, where, when and what is covered; ZIP; verification."""

import io
import subprocess
import zipfile
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from schoolmgr.extensions import db
from schoolmgr.models import EditionFormat, InvitationLetter, RegistrationStatus, Role
from tests import factories as F  # noqa: N812


def pdftotext(content: bytes) -> str:
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
    )
    return " ".join(result.stdout.decode().split())


@pytest.fixture
def letter_world(app):
    edition = F.EditionFactory(title="Seasonal School on Digital Transformation", venue="Budva")
    edition.letter_covers = "Accommodation, meals and local transport."
    user = F.UserFactory(
        full_name="Đorđe Čolić",
        position="Head of the Digital Unit",
        institution="Ministry of Public Administration",
    )
    registration = F.RegistrationFactory(edition=edition, user=user)
    other = F.RegistrationFactory(edition=edition, user=F.UserFactory(full_name="Ardit Hoxha"))
    pending = F.RegistrationFactory(edition=edition, status=RegistrationStatus.PENDING)
    db.session.commit()
    return {"edition": edition, "registration": registration, "other": other, "pending": pending}


def test_participant_downloads_their_letter_addressed_to_their_institution(
    letter_world, client, login
):
    registration = letter_world["registration"]
    login(registration.user)
    dashboard = client.get("/me/registrations").get_data(as_text=True)
    assert f"/me/letters/{registration.id}.pdf" in dashboard
    response = client.get(f"/me/letters/{registration.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdftotext(response.data)
    for expected in (
        "Invitation letter",
        "To: Ministry of Public Administration",
        "Đorđe Čolić, Head of the Digital Unit",
        "Seasonal School on Digital Transformation",
        "Budva",
        "Accommodation, meals and local transport.",
    ):
        assert expected in text, expected
    letter = db.session.query(InvitationLetter).one()
    assert letter.verification_code in text


def test_a_letter_is_dated_by_the_day_where_its_edition_is_held(letter_world, client, login):
    """Asked for at 23:30 UTC in winter, it is already the next day in Belgrade: the letter
    said the day before, from UTC's calendar."""
    registration = letter_world["registration"]
    registration.edition.timezone = "Europe/Belgrade"
    db.session.commit()

    with freeze_time(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)):
        login(registration.user)
        response = client.get(f"/me/letters/{registration.id}.pdf")
    assert response.status_code == 200, response.text[:300]
    text = pdftotext(response.data)

    assert "1 December 2026" in text and "30 November 2026" not in text
    assert db.session.query(InvitationLetter).one().snapshot["issued_on"] == "2026-12-01"


def test_a_letter_is_checked_by_its_code(letter_world, client, login):
    login(letter_world["registration"].user)
    client.get(f"/me/letters/{letter_world['registration'].id}.pdf")
    code = db.session.query(InvitationLetter).one().verification_code
    client.get("/logout")
    page = client.get(f"/letters/verify/{code.lower().replace('-', '')}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Đorđe Čolić" in text and "Ministry of Public Administration" in text
    missing = client.get("/letters/verify/AAAA-BBBB-CCCC-DDDD-EEEE")
    assert missing.status_code == 404 and "No invitation letter" in missing.get_data(as_text=True)


def test_letters_only_for_my_accepted_in_person_registrations(letter_world, client, login):
    login(letter_world["pending"].user)
    assert client.get(f"/me/letters/{letter_world['pending'].id}.pdf").status_code == 409
    assert client.get(f"/me/letters/{letter_world['registration'].id}.pdf").status_code == 404
    online = F.RegistrationFactory(
        user=letter_world["pending"].user, edition=F.EditionFactory(format=EditionFormat.ONLINE)
    )
    assert client.get(f"/me/letters/{online.id}.pdf").status_code == 409


def test_staff_download_every_letter_as_a_zip(letter_world, client, login):
    login(role=Role.STAFF)
    slug = letter_world["edition"].slug
    page = client.get(f"/staff/editions/{slug}/letters").get_data(as_text=True)
    assert "2 accepted participants" in page
    response = client.get(f"/staff/editions/{slug}/letters.zip")
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as zf:
        names = sorted(zf.namelist())
        texts = [pdftotext(zf.read(n)) for n in names]
    assert len(names) == 2
    assert any("Ardit Hoxha" in t for t in texts) and any("Đorđe Čolić" in t for t in texts)


def test_staff_save_the_covered_costs_and_map_link(letter_world, client, login):
    login(role=Role.STAFF)
    slug = letter_world["edition"].slug
    response = client.post(
        f"/staff/editions/{slug}/letters",
        data={"letter_covers": "Travel and two nights.", "map_url": "https://osm.org/go/x"},
    )
    assert response.status_code == 303
    assert letter_world["edition"].letter_covers == "Travel and two nights."
    bad = client.post(
        f"/staff/editions/{slug}/letters",
        data={"letter_covers": "", "map_url": "javascript://alert(1)"},
    )
    assert bad.status_code == 400
    assert letter_world["edition"].map_url == "https://osm.org/go/x"


def test_privacy_export_holds_announcements_and_letters_and_anonymising_removes_them(
    letter_world, client, login
):
    from schoolmgr.announcements import services
    from schoolmgr.models import AnnouncementRecipient
    from schoolmgr.privacy.services import anonymise_user, export_personal_data

    registration = letter_world["registration"]
    user = registration.user
    staff = F.UserFactory(role=Role.STAFF)
    services.send(
        letter_world["edition"],
        staff,
        subject="Hello {first_name}",
        body="Dear {first_name}",
        audience=services.Audience(),
        material_ids=[],
        idempotency_key="d" * 32,
    )
    login(user)
    client.get(f"/me/letters/{registration.id}.pdf")
    data = export_personal_data(user)
    assert data["announcements"][0]["message"] == "Dear Đorđe"
    assert data["invitation_letters"][0]["as_printed"]["name"] == "Đorđe Čolić"

    anonymise_user(user)
    db.session.commit()
    assert db.session.query(InvitationLetter).count() == 0
    row = db.session.query(AnnouncementRecipient).filter_by(user_id=user.id).one()
    assert "Đorđe" not in row.body_text and "Đorđe" not in row.subject


def test_a_letter_is_the_same_pdf_when_its_styles_are_computed_for_it_alone(
    letter_world, client, login, monkeypatch
):
    """PDFs share computed styles across documents (pdf_styles); a letter does not show it."""
    from schoolmgr import pdf  # noqa: PLC0415

    registration = letter_world["registration"]
    login(registration.user)
    url = f"/me/letters/{registration.id}.pdf"
    shared = [client.get(url).data for _ in range(2)]
    monkeypatch.setattr(pdf.PrintHTML, "share_styles", False)
    assert client.get(url).data == shared[0] == shared[1]
