"""Optional gender and institution type: asked, never required, kept where the profile is."""

import csv
import io
import json

import sqlalchemy as sa
from openpyxl import load_workbook

from schoolmgr.models import AuditEvent, Gender, InstitutionType, User


def test_profile_saves_and_clears_the_optional_answers(client, login, db):
    user = login()
    page = client.get("/account/")
    assert "Gender (optional)" in page.text and "Type of organisation (optional)" in page.text

    form = {
        "full_name": user.full_name,
        "institution": "Ministry of Finance",
        "position": "Head of Unit",
        "country": "RS",
        "preferred_language": "en",
        "gender": "woman",
        "institution_type": "ministry",
    }
    assert client.post("/account/", data=form).status_code == 302
    saved = db.session.get(User, user.id)
    assert (saved.gender, saved.institution_type) == (Gender.WOMAN, InstitutionType.MINISTRY)
    assert '<option selected value="woman">' in client.get("/account/").text

    form.update(gender="", institution_type="")
    assert client.post("/account/", data=form).status_code == 302
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert saved.gender is None and saved.institution_type is None


def test_an_unknown_answer_is_refused_without_saving(client, login, db):
    user = login()
    response = client.post(
        "/account/",
        data={
            "full_name": user.full_name,
            "preferred_language": "en",
            "gender": "robot",
            "institution_type": "ministry",
        },
    )
    assert response.status_code == 400
    assert "Not a valid choice" in response.text
    assert db.session.get(User, user.id).institution_type is None


def test_the_gender_value_stays_out_of_the_audit_log(client, login, db):
    user = login()
    client.post(
        "/account/",
        data={
            "full_name": user.full_name,
            "preferred_language": "en",
            "gender": "man",
            "institution_type": "agency",
        },
    )
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.target_id == user.id))
    assert "gender" in event.summary
    assert "man" not in json.dumps([event.before, event.after])
    assert event.after["institution_type"] == "agency"


def test_registration_asks_and_saves_to_the_profile(client, login, db, make_edition):
    edition = make_edition()
    user = login()
    page = client.get(f"/editions/{edition.slug}/register")
    assert "Gender (optional)" in page.text
    response = client.post(
        f"/editions/{edition.slug}/register",
        data={
            "country": "XK",
            "institution": "Agency for Information Society",
            "position": "Head of Unit",
            "consent": "y",
            "gender": "another_term",
            "institution_type": "agency",
        },
    )
    assert response.status_code == 302, response.text
    saved = db.session.get(User, user.id)
    assert saved.gender == Gender.ANOTHER_TERM
    assert saved.institution_type == InstitutionType.AGENCY


def test_registration_without_the_optional_answers_works(client, login, db, make_edition):
    edition = make_edition()
    user = login()
    response = client.post(
        f"/editions/{edition.slug}/register",
        data={"country": "AL", "institution": "Ministry", "position": "Adviser", "consent": "y"},
    )
    assert response.status_code == 302
    assert db.session.get(User, user.id).gender is None


def test_staff_see_and_record_the_answers_on_the_people_page(client, login, db, make_user):
    person = make_user(gender=Gender.WOMAN)
    login(role="staff")
    page = client.get(f"/staff/people/{person.id}")
    assert "Woman" in page.text and "Not answered" in page.text

    response = client.post(
        f"/staff/people/{person.id}/report-answers",
        data={"gender": "prefer_not_to_say", "institution_type": "local_government"},
        follow_redirects=True,
    )
    assert "reporting details" in response.text
    db.session.expire_all()
    saved = db.session.get(User, person.id)
    assert saved.gender == Gender.PREFER_NOT_TO_SAY
    assert saved.institution_type == InstitutionType.LOCAL_GOVERNMENT


def test_the_privacy_export_holds_the_answers(client, login, db):
    user = login()
    user.gender, user.institution_type = Gender.WOMAN, InstitutionType.ACADEMIA
    db.session.commit()
    data = client.get("/privacy/export.json").get_json()
    assert data["account"]["gender"] == "woman"
    assert data["account"]["institution_type"] == "academia"


def test_anonymising_clears_the_answers(db, make_user):
    from schoolmgr.privacy import services

    user = make_user(gender=Gender.MAN, institution_type=InstitutionType.JUDICIARY)
    services.anonymise_user(user)
    db.session.commit()
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert saved.gender is None and saved.institution_type is None


def test_registrations_exports_carry_both_columns(client, login, make_registration, make_user):
    user = make_user(gender=Gender.WOMAN, institution_type=InstitutionType.CIVIL_SOCIETY)
    registration = make_registration(user=user)
    login(role="staff")
    base = f"/staff/editions/{registration.edition.slug}/registrations"
    rows = list(csv.reader(io.StringIO(client.get(base + "/export.csv").data.decode("utf-8-sig"))))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["Gender"] == "Woman" and record["Type of organisation"] == "Civil society"
    sheet = load_workbook(io.BytesIO(client.get(base + "/export.xlsx").data)).active
    header, first = list(sheet.iter_rows(values_only=True))[:2]
    record = dict(zip(header, first, strict=True))
    assert record["Gender"] == "Woman" and record["Type of organisation"] == "Civil society"
