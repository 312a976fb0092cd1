"""Certificate pages: staff issuing, participant downloads, public verification, audit log, CLI."""

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from schoolmgr import create_app
from schoolmgr.certificates import batches, eligibility, files, issuing, lookup
from schoolmgr.extensions import db
from schoolmgr.models import (
    AttendanceStatus,
    AuditEvent,
    Certificate,
    Registration,
    Role,
    utcnow,
)
from schoolmgr.timeutils import fmt_date
from tests import factories


@pytest.fixture
def edition_with_people(app):
    """A past edition with one module of four sessions; two good attenders and one poor one."""
    edition = factories.EditionFactory(past=True, slug="autumn-school", title="Autumn School")
    em = factories.EditionModuleFactory(edition=edition)
    sessions = [factories.SessionFactory(edition_module=em) for _ in range(4)]
    people = []
    for name, present in (("Ëndrit Hoxha", 4), ("Кристина Ѕвезданоска", 4), ("Jasmin Ćatić", 1)):
        reg = factories.RegistrationFactory(edition=edition, user__full_name=name)
        for i, s in enumerate(sessions):
            factories.AttendanceFactory(
                session=s,
                registration=reg,
                status=AttendanceStatus.PRESENT if i < present else AttendanceStatus.ABSENT,
            )
        people.append(reg)
    return edition, people


def test_staff_only(client, login, edition_with_people):
    login(role=Role.PARTICIPANT)
    assert client.get("/staff/editions/autumn-school/certificates").status_code == 403
    assert client.get("/staff/audit").status_code == 403


def test_eligibility_page_shows_reasons(client, login, edition_with_people):
    login(role=Role.STAFF)
    html = client.get("/staff/editions/autumn-school/certificates").get_data(as_text=True)
    assert "Кристина Ѕвезданоска" in html
    assert "attended 1 of 4 sessions, needs 4" in html
    assert "Issue all missing certificates (2)" in html


def test_eligibility_page_is_paginated_with_counts_and_issue_all_for_the_whole_edition(
    app, client, login, edition_with_people, outbox
):
    edition, people = edition_with_people
    app.config["PER_PAGE"] = 2
    login(role=Role.STAFF)
    url = "/staff/editions/autumn-school/certificates"
    names = [r.user.full_name for r in people]

    pages = [
        client.get(url).get_data(as_text=True),
        client.get(url + "?page=2").get_data(as_text=True),
    ]

    # "Ëndrit", "Jasmin", "Кристина": sorted by folded name across the pages.
    assert [[n for n in names if n in page] for page in pages] == [
        ["Ëndrit Hoxha", "Jasmin Ćatić"],
        ["Кристина Ѕвезданоска"],
    ]
    for page in pages:  # counts and the bulk issue cover the whole edition, on every page
        assert "3 accepted participants" in page
        assert "Issue all missing certificates (2)" in page
        assert "Missing: 2" in page
    assert f'href="{url}?page=2"' in pages[0]
    assert client.get(url + "?page=3").status_code == 404

    # A row's form on page 2 brings the user back to page 2, at the row (here with a message).
    kristina, jasmin = people[1], people[2]
    assert f"/override/{kristina.id}?page=2" in pages[1]
    response = client.post(
        f"{url}/override/{kristina.id}?page=2",
        data={"decision": "granted", "reason": "Not needed: eligible already"},
    )
    assert response.location.endswith(f"{url}?page=2#reg-{kristina.id}")
    client.post(
        f"{url}/override/{jasmin.id}", data={"decision": "granted", "reason": "Make-up session"}
    )
    assert "Missing: 3" in client.get(url + "?page=2").get_data(as_text=True)

    client.post(f"{url}/issue")  # issue all, whatever page the button was on: every page
    issued = factories.db.session.scalars(sa.select(Certificate.registration_id)).all()
    assert sorted(issued) == sorted(r.id for r in people)
    page = client.get(url + "?page=2").get_data(as_text=True)
    assert "Certificates issued: 3" in page and "Missing: 0" in page


def test_post_without_csrf_token_is_refused(app, client, login, edition_with_people):
    app.config["WTF_CSRF_ENABLED"] = True
    login(role=Role.STAFF)
    response = client.post("/staff/editions/autumn-school/certificates/issue")
    assert response.status_code == 400
    assert factories.db.session.scalar(sa.select(sa.func.count(Certificate.id))) == 0


def test_grant_exception_then_issue_all_then_zip(client, login, edition_with_people, outbox):
    edition, (a, b, poor) = edition_with_people
    login(role=Role.STAFF)
    response = client.post(
        f"/staff/editions/autumn-school/certificates/override/{poor.id}",
        data={"decision": "granted", "reason": "Attended the make-up session"},
    )
    assert response.status_code == 302

    response = client.post("/staff/editions/autumn-school/certificates/issue")
    assert response.status_code == 302
    progress = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Finished" in progress
    assert ">3</span>" in progress
    assert len(outbox) == 3

    response = client.get("/staff/editions/autumn-school/certificates.zip")
    assert response.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert len(names) == 3
    assert all(n.endswith(".pdf") for n in names)

    audit = client.get("/staff/audit?action=certificate.exception_granted").get_data(as_text=True)
    assert "Attended the make-up session" in audit


def test_bad_override_shows_message_not_500(client, login, edition_with_people):
    _edition, (a, _b, _poor) = edition_with_people
    login(role=Role.STAFF)
    response = client.post(
        f"/staff/editions/autumn-school/certificates/override/{a.id}",
        data={"decision": "granted", "reason": "x"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Write the reason" in response.get_data(as_text=True)


def test_participant_downloads_own_certificate_only(client, login, edition_with_people):
    _edition, (a, b, _poor) = edition_with_people
    mine = issuing.issue_for_registration(a, None)[0]
    theirs = issuing.issue_for_registration(b, None)[0]
    login(a.user)
    page = client.get("/me/certificates").get_data(as_text=True)
    assert "Autumn School" in page
    response = client.get(f"/me/certificates/{mine.id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert client.get(f"/me/certificates/{theirs.id}.pdf").status_code == 404


def test_verify_pages(client, edition_with_people):
    edition, (a, _b, _poor) = edition_with_people
    certificate = issuing.issue_for_registration(a, None)[0]
    code = certificate.verification_code

    response = client.get(f"/verify/{code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Valid" in html and "Ëndrit Hoxha" in html
    assert fmt_date(certificate.issued_at, edition.tz) in html  # a date in words, not ISO
    assert a.user.email not in html

    response = client.get(f"/verify?code={code.lower().replace('-', ' ')}")
    assert response.status_code == 302

    data = client.get(f"/verify/{code}.json").get_json()
    assert data["status"] == "valid"
    assert data["holder"] == "Ëndrit Hoxha"
    assert "email" not in str(data)

    assert client.get("/verify/AAAA-BBBB-CCCC-DDDD-EEEE").status_code == 404
    assert client.get("/verify/AAAA-BBBB-CCCC-DDDD-EEEE.json").status_code == 404
    assert client.get("/verify?code=nonsense").status_code == 404


@pytest.mark.parametrize("typed", ["{serial}", "{serial_spaced}", "{serial_digits}", " {serial}  "])
def test_verify_accepts_the_serial_number_and_says_so(client, edition_with_people, typed):
    _edition, (a, _b, _poor) = edition_with_people
    certificate = issuing.issue_for_registration(a, None)[0]
    serial = certificate.serial
    typed = typed.format(
        serial=serial,
        serial_spaced=serial.replace("-", " "),
        serial_digits=serial.replace("-", ""),
    )

    response = client.get("/verify", query_string={"code": typed}, follow_redirects=True)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"You typed the serial number {serial}" in html
    assert certificate.verification_code in html
    assert "Valid" in html and "Ëndrit Hoxha" in html


def test_verify_by_code_does_not_claim_a_serial_was_typed(client, edition_with_people):
    _edition, (a, _b, _poor) = edition_with_people
    certificate = issuing.issue_for_registration(a, None)[0]

    response = client.get(
        "/verify",
        query_string={"code": certificate.verification_code.lower()},
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert "You typed the serial number" not in response.get_data(as_text=True)
    assert client.get("/verify?code=2026-9999-99999").status_code == 404


def test_upload_detects_edited_pdf(app, client, edition_with_people):
    _edition, (a, _b, _poor) = edition_with_people
    certificate = issuing.issue_for_registration(a, None)[0]
    original = files.read_pdf(certificate)
    edited = original + b"\n% appended by someone\n"

    response = client.post(
        "/verify",
        data={"pdf": (io.BytesIO(original), "cert.pdf")},
        content_type="multipart/form-data",
    )
    assert "This exact file was issued by us" in response.get_data(as_text=True)

    response = client.post(
        f"/verify/{certificate.verification_code}",
        data={"pdf": (io.BytesIO(edited), "cert.pdf")},
        content_type="multipart/form-data",
    )
    assert "This file was not issued by us" in response.get_data(as_text=True)


def test_revoke_and_reissue_through_pages(client, login, edition_with_people):
    edition, (a, _b, _poor) = edition_with_people
    certificate = issuing.issue_for_registration(a, None)[0]
    login(role=Role.STAFF)
    client.post(f"/staff/certificates/{certificate.id}/reissue", data={"reason": "Venue corrected"})
    new = lookup.current_certificate(a)
    assert new.id != certificate.id
    page = client.get(f"/verify/{certificate.verification_code}").get_data(as_text=True)
    assert "Superseded" in page and new.serial in page

    client.post(
        f"/staff/certificates/{new.id}/revoke",
        data={"category": "misconduct", "reason": "Plagiarised final project"},
    )
    page = client.get(f"/verify/{new.verification_code}").get_data(as_text=True)
    assert "Revoked" in page
    assert f"on {fmt_date(new.revoked_at, edition.tz)}" in page
    assert "Breach of the code of conduct" in page
    assert "Plagiarised" not in page


def test_verify_lookups_are_rate_limited(database_url, tmp_path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_ENABLED": True,
            "STORAGE_DIR": str(tmp_path),
        }
    )
    client = app.test_client()
    statuses = [client.get("/verify/AAAA-BBBB-CCCC-DDDD-EEEE").status_code for _ in range(31)]
    assert statuses[:30] == [404] * 30
    assert statuses[30] == 429


def test_verify_lookups_share_one_limit_across_routes(database_url, tmp_path):
    """30 lookups a minute per visitor in all, whichever of the verify routes they use."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_ENABLED": True,
            "STORAGE_DIR": str(tmp_path),
        }
    )
    client = app.test_client()
    code = "AAAA-BBBB-CCCC-DDDD-EEEE"
    urls = [f"/verify/{code}", f"/verify/{code}.json", f"/verify?code={code}"]
    statuses = [client.get(urls[k % 3]).status_code for k in range(30)]
    assert statuses == [404] * 30
    for url in urls:
        assert client.get(url).status_code == 429, url


def test_audit_log_filters(client, login, edition_with_people):
    _edition, (a, _b, _poor) = edition_with_people
    staff = login(role=Role.STAFF)
    eligibility.set_override(_edition, a.id, "excluded", "Left on day one", staff)
    html = client.get(f"/staff/audit?actor={staff.id}&edition={_edition.id}").get_data(as_text=True)
    assert "Left on day one" in html
    html = client.get("/staff/audit?action=certificate.revoked").get_data(as_text=True)
    assert "Left on day one" not in html
    assert client.get("/staff/audit?date_from=not-a-date").status_code == 400


def test_cli_issue_and_list(runner, edition_with_people):
    result = runner.invoke(args=["certificates", "issue", "--edition", "autumn-school"])
    assert result.exit_code == 0, result.output
    assert "issued=2 failed=0" in result.output
    result = runner.invoke(args=["certificates", "list", "--edition", "autumn-school"])
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert any("Кристина Ѕвезданоска" in line and "\tvalid\t" in line for line in lines)
    assert runner.invoke(args=["certificates", "list", "--edition", "nope"]).exit_code != 0
    assert factories.db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "certificate.issued")
    )


def _add_participants(edition, count):
    sessions = [s for em in edition.edition_modules for s in em.sessions]
    for _ in range(count):
        reg = factories.RegistrationFactory(edition=edition)
        for s in sessions:
            factories.AttendanceFactory(session=s, registration=reg)


def test_list_pages_use_a_fixed_number_of_queries(client, login, edition_with_people):
    from tests.querycount import count_queries

    edition, people = edition_with_people
    staff = login(role=Role.STAFF)
    for reg in people[:2]:
        issuing.issue_for_registration(reg, staff)
    urls = [
        "/staff/editions/autumn-school/certificates",
        "/staff/editions/autumn-school/certificates/issued",
        "/staff/audit",
    ]
    counts = []
    for _round in range(2):
        round_counts = []
        for url in urls:
            with count_queries() as queries:
                assert client.get(url).status_code == 200
            round_counts.append(queries.count)
        counts.append(round_counts)
        _add_participants(edition, 4)
        for reg_id in batches.missing_registration_ids(edition):
            issuing.issue_for_registration(factories.db.session.get(Registration, reg_id), staff)
    assert counts[0] == counts[1], counts


def test_progress_json_for_the_page_script(client, login, edition_with_people):
    edition, _people = edition_with_people
    login(role=Role.STAFF)
    location = client.post("/staff/editions/autumn-school/certificates/issue").headers["Location"]
    data = client.get(location + ".json").get_json()
    assert data["status"] == "finished"
    assert (data["done"], data["total"], data["failed"], data["running"]) == (2, 2, 0, False)
    assert client.get("/staff/editions/autumn-school/certificates/runs/999").status_code == 404
    # A run without failures has no "Failures: None" section to read past.
    page = client.get(location).text
    assert re.search(r'<section data-field="failures-box" hidden', page)
    assert ">None<" not in page


@pytest.fixture
def edition_half_way(app):
    """An edition under way: two sessions held (attended), three still to come."""
    now = utcnow()
    edition = factories.EditionFactory(slug="half-way", title="Half-way School")
    edition.certificate_threshold = 0
    em = factories.EditionModuleFactory(edition=edition)
    registration = factories.RegistrationFactory(edition=edition, user__full_name="Ана Јовановић")
    for days in (-2, -1, 1, 2, 3):
        starts = now + timedelta(days=days)
        session = factories.SessionFactory(
            edition_module=em, starts_at=starts, ends_at=starts + timedelta(hours=2)
        )
        if days < 0:
            factories.AttendanceFactory(
                session=session, registration=registration, status=AttendanceStatus.PRESENT
            )
    db.session.commit()
    return edition, registration


def _certificates(edition):
    return db.session.scalars(
        sa.select(Certificate).join(Registration).where(Registration.edition_id == edition.id)
    ).all()


def test_issuing_while_sessions_remain_warns_and_asks_for_confirmation(
    client, login, edition_half_way
):
    edition, registration = edition_half_way
    login(role=Role.STAFF)
    page = client.get(f"/staff/editions/{edition.slug}/certificates").text
    assert "3 sessions of this edition are still to come" in page

    for url, button in (
        (
            f"/staff/editions/{edition.slug}/certificates/issue",
            "Issue all missing certificates now",
        ),
        (
            f"/staff/editions/{edition.slug}/certificates/issue/{registration.id}",
            "Issue the certificate of Ана Јовановић now",
        ),
    ):
        response = client.post(url)
        assert response.status_code == 409
        assert "3 sessions of Half-way School are still to come." in response.text
        assert button in response.text
        assert _certificates(edition) == []

    response = client.post(
        f"/staff/editions/{edition.slug}/certificates/issue/{registration.id}",
        data={"before_the_end": "yes"},
    )
    assert response.status_code == 302
    assert len(_certificates(edition)) == 1


def test_a_certificate_is_dated_by_the_day_where_its_edition_is_held(
    client, login, edition_with_people
):
    """Issued and revoked at 23:30 UTC in winter, it is already the next day in Belgrade: the
    certificate and its verify page say so (they said the day before, in UTC's calendar)."""
    edition, (a, _b, _poor) = edition_with_people
    edition.timezone = "Europe/Belgrade"
    db.session.commit()
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    with freeze_time(late):
        certificate = issuing.issue_for_registration(a, None)[0]
        assert certificate.snapshot["issued_on"] == "2026-12-01"
        login(role=Role.STAFF)
        client.post(
            f"/staff/certificates/{certificate.id}/revoke",
            data={"category": "misconduct", "reason": "Plagiarised final project"},
        )
    page = client.get(f"/verify/{certificate.verification_code}").get_data(as_text=True)
    assert "Revoked" in page
    assert page.count("1 December 2026") == 2, "issued on and revoked on"
    assert "30 November 2026" not in page
