"""Attendance through the pages: roster, check-in screen, typed code, apology, sheet, summaries."""

import io
import re
import subprocess
from datetime import timedelta

import pytest
from freezegun import freeze_time

from schoolmgr.extensions import db
from schoolmgr.models import Attendance, AttendanceMethod, AttendanceStatus, Country, Role


@pytest.fixture
def world(make_edition, make_edition_module, make_user, make_registration, make_session):
    edition = make_edition(module_choice=True, slug="school-2026")
    trainer = make_user(trainer=True)
    other_trainer = make_user(trainer=True)
    em = make_edition_module(edition=edition, trainers=[trainer], module__slug="agile")
    other_em = make_edition_module(edition=edition, trainers=[other_trainer])
    session = make_session(edition_module=em)
    ana = make_registration(
        edition=edition, modules=[em], user__full_name="Ана Јовановић", user__country=Country.KOSOVO
    )
    bojan = make_registration(edition=edition, modules=[em], user__full_name="Bojan Đurić")
    outsider = make_registration(edition=edition, modules=[other_em])
    return {
        "edition": edition,
        "em": em,
        "session": session,
        "trainer": trainer,
        "other_trainer": other_trainer,
        "ana": ana,
        "bojan": bojan,
        "outsider": outsider,
    }


def marks(session):
    rows = db.session.scalars(db.select(Attendance).filter_by(session_id=session.id))
    return {a.registration_id: a for a in rows}


def test_trainer_home_lists_only_own_modules(client, login, world):
    login(world["trainer"])
    page = client.get("/trainer/")
    assert page.status_code == 200
    assert world["em"].module.name in page.text
    other = db.session.get(type(world["em"]), world["em"].id + 1)
    assert other.module.name not in page.text
    login(role=Role.PARTICIPANT)
    assert client.get("/trainer/").status_code == 403


def test_roster_marks_all_present_then_adjusts(client, login, world):
    s = world["session"]
    login(world["trainer"])
    page = client.get(f"/trainer/sessions/{s.id}")
    assert "Ана Јовановић" in page.text and "Bojan Đurić" in page.text
    assert world["outsider"].user.full_name not in page.text

    client.post(f"/trainer/sessions/{s.id}", data={"action": "all_present", "method": "trainer"})
    assert {m.status for m in marks(s).values()} == {AttendanceStatus.PRESENT}

    response = client.post(
        f"/trainer/sessions/{s.id}",
        data={
            "action": "save",
            "method": "import",
            f"status-{world['ana'].id}": "present",
            f"status-{world['bojan'].id}": "absent",
        },
    )
    assert response.status_code == 302
    bojan = marks(s)[world["bojan"].id]
    assert bojan.status == AttendanceStatus.ABSENT
    assert bojan.method == AttendanceMethod.IMPORT


def test_long_roster_is_paged_searchable_and_marks_everyone(
    client, login, world, make_registration
):
    s, em = world["session"], world["em"]
    zoras = [  # 60 participants with Ana and Bojan: 50 on page 1, 10 on page 2
        make_registration(edition=world["edition"], modules=[em], user__full_name=f"Zora {n:02d}")
        for n in range(58)
    ]
    login(world["trainer"])
    first = client.get(f"/trainer/sessions/{s.id}")
    assert first.text.count('id="roster-row-') == 50
    assert "1–50 of 60" in first.text and "Zora 57" not in first.text
    second = client.get(f"/trainer/sessions/{s.id}?page=2")
    assert second.text.count('id="roster-row-') == 10 and "Zora 57" in second.text
    assert client.get(f"/trainer/sessions/{s.id}?page=3").status_code == 404

    found = client.get(f"/trainer/sessions/{s.id}?q=djuric")  # "Đurić" typed on any keyboard
    assert found.text.count('id="roster-row-') == 1 and "Bojan Đurić" in found.text
    none = client.get(f"/trainer/sessions/{s.id}?q=nobody")
    assert "No participant of this session matches" in none.text

    # Saving page 2 returns to page 2; "everyone present" reaches the other page too.
    last = zoras[-1].id
    saved = client.post(
        f"/trainer/sessions/{s.id}?page=2",
        data={"action": "save", "method": "trainer", f"status-{last}": "late"},
    )
    assert saved.status_code == 302 and saved.headers["Location"].endswith("?page=2")
    client.post(f"/trainer/sessions/{s.id}", data={"action": "all_present", "method": "trainer"})
    statuses = {m.registration_id: m.status for m in marks(s).values()}
    assert set(statuses) == {r.id for r in [world["ana"], world["bojan"], *zoras]}
    assert statuses[last] == AttendanceStatus.LATE


def test_roster_refuses_unknown_participant_and_saves_nothing(client, login, world):
    s = world["session"]
    login(world["trainer"])
    response = client.post(
        f"/trainer/sessions/{s.id}",
        data={
            "method": "trainer",
            f"status-{world['ana'].id}": "present",
            f"status-{world['outsider'].id}": "present",
        },
    )
    assert response.status_code == 400
    assert "not on this session" in response.get_data(as_text=True)
    assert marks(s) == {}


def test_bad_status_value_is_400(client, login, world):
    login(world["trainer"])
    response = client.post(
        f"/trainer/sessions/{world['session'].id}",
        data={"method": "trainer", f"status-{world['ana'].id}": "asleep"},
    )
    assert response.status_code == 400


def test_mark_one_returns_the_updated_row_for_scripts(client, login, world):
    s = world["session"]
    login(world["trainer"])
    response = client.post(
        f"/trainer/sessions/{s.id}/mark/{world['ana'].id}",
        data={"status": "late"},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="roster-row-{world["ana"].id}"')
    assert marks(s)[world["ana"].id].status == AttendanceStatus.LATE
    # Without JS the same URL redirects back to the roster.
    response = client.post(
        f"/trainer/sessions/{s.id}/mark/{world['bojan'].id}", data={"status": "present"}
    )
    assert response.status_code == 302


def test_other_trainer_cannot_open_roster_or_screen(client, login, world):
    s = world["session"]
    login(world["other_trainer"])
    for url in (
        f"/trainer/sessions/{s.id}",
        f"/trainer/sessions/{s.id}/checkin",
        f"/trainer/sessions/{s.id}/checkin/qr.svg",
        f"/trainer/sessions/{s.id}/sheet.pdf",
        f"/trainer/modules/{world['em'].id}/attendance",
        f"/trainer/modules/{world['em'].id}/attendance.csv",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/trainer/sessions/{s.id}/close").status_code == 403
    assert client.get("/trainer/sessions/99999").status_code == 404


def test_checkin_screen_shows_code_and_qr(client, login, world):
    s = world["session"]
    s.checkin_code = None
    db.session.commit()
    login(world["trainer"])
    page = client.get(f"/trainer/sessions/{s.id}/checkin")
    assert "Open check-in" in page.text
    client.post(f"/trainer/sessions/{s.id}/checkin")
    db.session.refresh(s)
    page = client.get(f"/trainer/sessions/{s.id}/checkin")
    assert s.checkin_code in page.text
    qr = client.get(f"/trainer/sessions/{s.id}/checkin/qr.svg")
    assert qr.mimetype == "image/svg+xml"
    assert b"<svg" in qr.data


def test_participant_checks_in_with_typed_code(client, login, world):
    s = world["session"]
    login(world["ana"].user)
    with freeze_time(s.starts_at - timedelta(minutes=2)):
        response = client.post("/checkin", data={"code": s.checkin_code.lower()})
        assert response.status_code == 200
        assert "You are checked in" in response.text
        again = client.post("/checkin", data={"code": s.checkin_code})
        assert "already checked in" in again.text
    assert marks(s)[world["ana"].id].method == AttendanceMethod.SELF_CHECKIN


@pytest.mark.parametrize(
    ("who", "minutes", "code", "message", "status"),
    [
        ("outsider", 0, None, "not registered for this module", 403),
        ("ana", -120, None, "has not opened yet", 409),
        ("ana", 0, "ZZZZZZ", "This code is not right", 400),
    ],
)
def test_check_in_refusals_are_explained(client, login, world, who, minutes, code, message, status):
    s = world["session"]
    login(world[who].user)
    with freeze_time(s.starts_at + timedelta(minutes=minutes)):
        response = client.post("/checkin", data={"code": code or s.checkin_code})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert marks(s) == {}


def test_qr_landing_confirms_then_checks_in(client, login, world, app):
    from schoolmgr.attendance.checkin import rotating_token

    s = world["session"]
    login(world["bojan"].user)
    with freeze_time(s.starts_at + timedelta(minutes=15)):
        token = rotating_token(s)
        page = client.get(f"/checkin/{s.id}/{token}")
        assert "Check me in" in page.text
        assert marks(s) == {}
        response = client.post(f"/checkin/{s.id}/{token}")
        assert "marked as late" in response.text
        expired = client.post(f"/checkin/{s.id}/WRONG")
        assert expired.status_code == 400
        assert "expired" in expired.get_data(as_text=True)


def test_apology_from_the_module_page(client, login, world):
    s = world["session"]
    login(world["ana"].user)
    page = client.get("/editions/school-2026/modules/agile")
    assert "Send an apology" in page.text
    response = client.post(
        f"/sessions/{s.id}/apology", data={f"s{s.id}-comment": "Court hearing that day"}
    )
    assert response.status_code == 302
    mark = marks(s)[world["ana"].id]
    assert (mark.status, mark.comment) == (AttendanceStatus.EXCUSED, "Court hearing that day")

    login(world["outsider"].user)
    assert (
        client.post(f"/sessions/{s.id}/apology", data={f"s{s.id}-comment": "x"}).status_code == 403
    )


def test_close_session_marks_the_rest_absent(client, login, world):
    s = world["session"]
    login(world["trainer"])
    with freeze_time(s.ends_at):
        client.post(f"/trainer/sessions/{s.id}/mark/{world['ana'].id}", data={"status": "present"})
        client.post(f"/trainer/sessions/{s.id}/close")
    assert marks(s)[world["bojan"].id].status == AttendanceStatus.ABSENT
    db.session.refresh(s)
    assert s.closed_at is not None


def test_sign_in_sheet_is_a_pdf_with_cyrillic_names(client, login, world):
    login(world["trainer"])
    response = client.get(f"/trainer/sessions/{world['session'].id}/sheet.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    from pypdf import PdfReader  # noqa: PLC0415

    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "Ана Јовановић" in text
    assert "Bojan Đurić" in text


def test_sign_in_sheet_keeps_names_and_the_room_on_one_line(client, login, world, tmp_path):
    session = world["session"]
    session.room = "Plenary hall B, Government building"
    user = world["bojan"].user
    user.full_name = "Aleksandra Dimitrijević-Stojanović Petrović"
    user.institution = "Ministry of Public Administration and Local Self-Government of Serbia"
    db.session.commit()
    login(world["trainer"])
    pdf = tmp_path / "sheet.pdf"
    pdf.write_bytes(client.get(f"/trainer/sessions/{session.id}/sheet.pdf").data)

    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    lines = text.splitlines()
    assert any("Aleksandra Dimitrijević-Stojanović Petrović" in line for line in lines)
    assert any("Plenary hall B, Government building" in line for line in lines)


def test_summary_and_csv(client, login, world, make_attendance):
    make_attendance(session=world["session"], registration=world["ana"])
    login(world["trainer"])
    page = client.get(f"/trainer/modules/{world['em'].id}/attendance")
    assert "Ана Јовановић" in page.text
    assert "Kosovo*" in page.text and "UNSCR 1244" in page.text
    csv = client.get(f"/trainer/modules/{world['em'].id}/attendance.csv")
    assert csv.mimetype == "text/csv"
    text = csv.data.decode("utf-8-sig")
    assert "Ана Јовановић" in text and "100.0" in text

    login(role=Role.STAFF)
    assert client.get(f"/staff/editions/{world['edition'].slug}/attendance").status_code == 200
    assert client.get(f"/staff/editions/{world['edition'].slug}/attendance.csv").status_code == 200
    login(world["trainer"])
    assert client.get(f"/staff/editions/{world['edition'].slug}/attendance").status_code == 403


def test_module_summary_is_paginated_with_the_rate_over_all_participants(
    app, client, login, world, make_registration, make_attendance
):
    em, session = world["em"], world["session"]
    ciril = make_registration(edition=world["edition"], modules=[em], user__full_name="Ćiril Ćirić")
    make_attendance(session=session, registration=world["ana"])  # the last one by name
    app.config["PER_PAGE"] = 2
    login(world["trainer"])
    url = f"/trainer/modules/{em.id}/attendance"
    names = ["Bojan Đurić", "Ćiril Ćirić", "Ана Јовановић"]  # by name: Latin before Cyrillic

    first, second = client.get(url), client.get(url + "?page=2")

    assert first.status_code == second.status_code == 200
    assert [n for n in names if n in first.text] == names[:2]
    assert [n for n in names if n in second.text] == names[2:]
    assert f'href="{url}?page=2"' in first.text
    assert f'href="{url}?page=1"' in second.text
    assert "1–2 of 3" in first.text and "3–3 of 3" in second.text
    for page in (first, second):
        assert "Participants (3)" in page.text
        # Ana's one attended session of the three planned, on the page without her too.
        assert "1 / 3" in page.text and "33.3%" in page.text
        assert world["outsider"].user.full_name not in page.text
    assert "Kosovo*" in second.text and "Kosovo*" not in first.text
    assert client.get(url + "?page=3").status_code == 404
    assert client.get(url + "?page=0").status_code == 404

    csv = client.get(f"{url}.csv").data.decode("utf-8-sig")
    assert all(n in csv for n in names)  # the export has everyone, not one page
    assert world["outsider"].user.full_name not in csv
    assert len(csv.strip().splitlines()) == 1 + 3 + 2  # header, everyone, Kosovo footnote

    module_page = client.get(f"/trainer/modules/{em.id}").text
    assert "1 / 3" in module_page  # session marks over all participants
    assert "Rate so far: 33.3%" in module_page
    assert ciril.user.full_name not in module_page  # the module page lists no participants

    # In Croatian the rates are written the Croatian way (Babel), not "33.3%".
    world["trainer"].preferred_language = "hr"
    db.session.commit()
    assert "33,3\u00a0%" in client.get(url).text
    assert "33,3%" in client.get(f"/trainer/modules/{em.id}").text  # "%(p)s%%" of the catalogue


def test_roster_post_without_csrf_token_is_refused(client, login, world, app):
    app.config["WTF_CSRF_ENABLED"] = True
    login(world["trainer"])
    s = world["session"]
    response = client.post(
        f"/trainer/sessions/{s.id}/mark/{world['ana'].id}", data={"status": "present"}
    )
    assert response.status_code == 400
    assert client.post("/checkin", data={"code": s.checkin_code}).status_code == 400
    assert marks(s) == {}


def test_roster_and_home_load_in_a_fixed_number_of_queries(
    client, login, world, make_registration, make_attendance, make_session
):
    from tests.test_attendance_tally import count_queries

    s = world["session"]
    login(world["trainer"])

    def queries(url):
        db.session.expire_all()
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        return counter["n"]

    small_roster, small_home = queries(f"/trainer/sessions/{s.id}"), queries("/trainer/")
    for _ in range(8):
        reg = make_registration(edition=world["edition"], modules=[world["em"]])
        make_attendance(session=s, registration=reg)
        make_session(edition_module=world["em"])
    assert queries(f"/trainer/sessions/{s.id}") == small_roster
    assert queries("/trainer/") == small_home


def test_checkin_code_entry_is_rate_limited(app, database_url, tmp_path):
    from schoolmgr import create_app
    from tests.factories import UserFactory

    limited = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_ENABLED": True,
            "STORAGE_DIR": str(tmp_path),
        }
    )
    with limited.app_context():
        user = UserFactory()
        client = limited.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
        statuses = [
            client.post("/checkin", data={"code": f"WRONG{n}"}).status_code for n in range(21)
        ]
        db.session.remove()
    assert statuses[:20] == [400] * 20
    assert statuses[20] == 429


def test_staff_edition_summary_is_paginated_with_rates_over_the_whole_edition(
    app, client, login, world, make_attendance
):
    make_attendance(session=world["session"], registration=world["ana"])
    app.config["PER_PAGE"] = 2
    login(role=Role.STAFF)
    url = f"/staff/editions/{world['edition'].slug}/attendance"
    names = [r.user.full_name for r in (world["ana"], world["bojan"], world["outsider"])]

    first, second = client.get(url), client.get(url + "?page=2")

    assert first.status_code == second.status_code == 200
    shown = [[n for n in names if n in page.text] for page in (first, second)]
    assert len(shown[0]) == 2 and len(shown[1]) == 1
    assert sorted(shown[0] + shown[1]) == sorted(names)
    for page in (first, second):
        assert "Participants (3)" in page.text
        assert "1 / 2" in page.text  # module rate: Ana of the two who chose it, on every page
        assert "?page=2" in page.text or "page=1" in page.text
    assert client.get(url + "?page=3").status_code == 404
    csv = client.get(f"/staff/editions/{world['edition'].slug}/attendance.csv")
    assert all(n in csv.data.decode("utf-8-sig") for n in names)  # the export has everyone


def test_save_marks_counts_what_this_visit_changed_including_marks_saved_in_place(
    client, login, world
):
    s = world["session"]
    login(world["trainer"])
    page = client.get(f"/trainer/sessions/{s.id}").text
    started = re.search(r'name="visit_started" type="hidden" value="([^"]+)"', page).group(1)
    client.post(
        f"/trainer/sessions/{s.id}/mark/{world['ana'].id}",
        data={"status": "late"},
        headers={"X-Requested-With": "fetch"},
    )

    response = client.post(
        f"/trainer/sessions/{s.id}",
        data={
            "method": "trainer",
            "action": "save",
            "visit_started": started,
            f"status-{world['ana'].id}": "late",  # already saved: unchanged now
            f"status-{world['bojan'].id}": "present",
        },
        follow_redirects=True,
    )

    assert "Saved: 2 mark(s) changed during this visit." in response.text
    # A mangled visit time falls back to what this form changed.
    response = client.post(
        f"/trainer/sessions/{s.id}",
        data={"method": "trainer", "action": "save", "visit_started": "yesterday"},
        follow_redirects=True,
    )
    assert "Saved: 0 mark(s) changed." in response.text


def test_roster_rows_escape_names_comments_and_institutions(client, login, world):
    s = world["session"]
    user = world["bojan"].user
    user.full_name = '<img src=x onerror="alert(1)">Bojan'
    user.institution = "<b>Ministry</b> & Co"
    db.session.commit()
    login(world["trainer"])
    client.post(
        f"/trainer/sessions/{s.id}/mark/{world['bojan'].id}",
        data={"status": "absent"},
        headers={"X-Requested-With": "fetch"},
    )
    marks(s)[world["bojan"].id].comment = "</td><script>alert(2)</script>"
    db.session.commit()

    for html in (
        client.get(f"/trainer/sessions/{s.id}").text,
        client.post(
            f"/trainer/sessions/{s.id}/mark/{world['bojan'].id}",
            data={"status": "late"},
            headers={"X-Requested-With": "fetch"},
        ).text,
    ):
        assert "<img src=x" not in html and "<script>alert" not in html
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;Bojan" in html
        assert "Attendance of &lt;img src=x" in html
        assert "&lt;b&gt;Ministry&lt;/b&gt; &amp; Co" in html


def test_no_template_turns_autoescape_off():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "templates"
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file() and re.search(r"autoescape\s+false", path.read_text())
    ]
    assert offenders == []


def test_a_sign_in_sheet_is_the_same_pdf_when_its_styles_are_computed_for_it_alone(
    client, login, world, monkeypatch
):
    """PDFs share computed styles across documents (pdf_styles); a sheet does not show it."""
    from schoolmgr import pdf  # noqa: PLC0415

    login(world["trainer"])
    url = f"/trainer/sessions/{world['session'].id}/sheet.pdf"
    shared = [client.get(url).data for _ in range(2)]
    monkeypatch.setattr(pdf.PrintHTML, "share_styles", False)
    assert client.get(url).data == shared[0] == shared[1]
