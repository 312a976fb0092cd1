"""A trainer prepares a module and takes attendance; participants check in and download."""

from datetime import timedelta
from pathlib import Path

from playwright.sync_api import expect

from schoolmgr.extensions import db
from schoolmgr.models import Attendance, AttendanceMethod, AttendanceStatus, utcnow
from tests.factories import (
    PASSWORD,
    EditionFactory,
    EditionModuleFactory,
    RegistrationFactory,
    SessionFactory,
    UserFactory,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def sign_out(page):
    page.context.clear_cookies()


def test_trainer_materials_roster_and_participant_checkin(page, sign_in, tmp_path, app):
    edition = EditionFactory(slug="digital-2026", module_choice=True)
    trainer = UserFactory(trainer=True, email="maja@example.org", full_name="Maja Kovačević")
    em = EditionModuleFactory(
        edition=edition, trainers=[trainer], module__name="Agile", module__slug="agile"
    )
    other_em = EditionModuleFactory(edition=edition, module__name="Human Ware")
    now = utcnow()
    session = SessionFactory(
        edition_module=em, starts_at=now + timedelta(minutes=5), ends_at=now + timedelta(hours=3)
    )
    ana = RegistrationFactory(
        edition=edition,
        modules=[em],
        user__email="ana@example.org",
        user__full_name="Ана Јовановић",
    )
    bojan = RegistrationFactory(
        edition=edition,
        modules=[em],
        user__email="bojan@example.org",
        user__full_name="Bojan Đurić",
    )
    RegistrationFactory(
        edition=edition,
        modules=[other_em],
        user__email="elira@example.org",
        user__full_name="Elira Shehu",
    )
    code = session.checkin_code
    pdf_path = tmp_path / "Agile basics.pdf"
    pdf_path.write_bytes(PDF)

    # The trainer uploads a PDF and a link.
    sign_in("maja@example.org")
    page.get_by_role("link", name="My modules").first.click()
    page.get_by_role("link", name="Agile").click()
    page.get_by_label("Title").fill("Agile basics")
    page.get_by_label("File", exact=True).set_input_files(str(pdf_path))
    page.get_by_role("button", name="Add material").click()
    page.get_by_text("“Agile basics” was added.").wait_for()

    page.get_by_label("Title").fill("Team board")
    page.get_by_label("Add a link").check()
    page.get_by_label("Web address").fill("https://example.org/board")
    page.get_by_role("button", name="Add material").click()
    page.get_by_text("“Team board” was added.").wait_for()

    # The roster: mark Bojan late in place (no reload), then everyone else present.
    page.get_by_role("link", name="Roster").first.click()
    page.locator(f"label[for='s{bojan.id}-late']").click()
    page.locator(f"#current-{bojan.id}").get_by_text("Late").wait_for()
    page.get_by_role("button", name="Mark everyone not yet marked present").click()
    page.get_by_text("Saved: 1 mark(s) changed.").wait_for()
    marks = {
        a.registration_id: a.status
        for a in db.session.scalars(db.select(Attendance).filter_by(session_id=session.id))
    }
    assert marks == {bojan.id: AttendanceStatus.LATE, ana.id: AttendanceStatus.PRESENT}
    # Ana's mark is removed again so she can check in herself.
    db.session.execute(db.delete(Attendance).filter_by(registration_id=ana.id))
    db.session.commit()
    sign_out(page)

    # Ana checks in with the typed code and downloads the PDF.
    sign_in("ana@example.org")
    page.goto("/checkin")
    page.get_by_label("Check-in code").fill(code.lower())
    page.get_by_role("button", name="Check in").click()
    page.get_by_text("You are checked in").wait_for()
    page.get_by_role("link", name="Materials of this module").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Agile basics").click()
    download = download_info.value
    assert download.suggested_filename == "Agile basics.pdf"
    assert Path(download.path()).read_bytes() == PDF
    attendance = db.session.scalar(db.select(Attendance).filter_by(registration_id=ana.id))
    db.session.refresh(attendance)
    assert attendance.method == AttendanceMethod.SELF_CHECKIN
    sign_out(page)

    # Elira, of another module, is refused the material and the check-in.
    sign_in("elira@example.org")
    page.goto("/editions/digital-2026/modules/agile")
    assert page.get_by_role("link", name="Agile basics").count() == 0
    material_id = db.session.scalar(
        db.select(db.text("id")).select_from(db.text("materials")).where(db.text("kind='file'"))
    )
    response = page.goto(f"/materials/{material_id}/download")
    assert response.status == 403
    page.goto("/checkin")
    page.get_by_label("Check-in code").fill(code)
    page.get_by_role("button", name="Check in").click()
    page.get_by_text("You are not registered for this module").wait_for()


def test_a_mark_chosen_while_the_roster_script_loads_is_saved(page, sign_in):
    """On a slow line the roster is on screen before its script runs: a mark chosen then was
    only selected, and lost unless the trainer also pressed "Save marks"."""
    trainer = UserFactory(trainer=True, email="maja@example.org")
    em = EditionModuleFactory(trainers=[trainer])
    session = SessionFactory(edition_module=em)
    bojan = RegistrationFactory(
        edition=em.edition, user__full_name="Bojan Đurić", user__email="bojan@example.org"
    )
    sign_in(trainer.email)
    held = []
    page.route("**/static/js/attendance.js", lambda route: held.append(route))

    page.goto(f"/trainer/sessions/{session.id}", wait_until="commit")
    page.locator(f"label[for='s{bojan.id}-late']").click()
    expect(page.locator(f"#s{bojan.id}-late")).to_be_checked()
    while not held:  # the script's request is on hold until the mark is chosen
        page.wait_for_timeout(100)
    held[0].continue_()
    page.unroute("**/static/js/attendance.js")

    expect(page.locator(f"#current-{bojan.id}")).to_contain_text("Late")
    mark = db.session.scalar(db.select(Attendance).filter_by(registration_id=bojan.id))
    assert mark.status == AttendanceStatus.LATE
    page.reload()
    expect(page.locator(f"#s{bojan.id}-late")).to_be_checked()


def test_trainer_and_participant_pages_have_no_serious_accessibility_violations(
    browser, live_server
):
    from tests.e2e.conftest import axe_violations

    edition = EditionFactory(slug="a11y-school")
    trainer = UserFactory(trainer=True, email="t@example.org")
    em = EditionModuleFactory(edition=edition, trainers=[trainer], module__slug="agile")
    session = SessionFactory(edition_module=em)
    participant = RegistrationFactory(edition=edition, user__email="p@example.org").user
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()

    def sign_in(email):
        page.context.clear_cookies()
        page.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()

    sign_in(trainer.email)
    for url in (
        "/trainer/",
        f"/trainer/modules/{em.id}",
        f"/trainer/sessions/{session.id}",
        f"/trainer/sessions/{session.id}/checkin",
        f"/trainer/modules/{em.id}/attendance",
    ):
        page.goto(url)
        assert axe_violations(page) == [], url
    sign_in(participant.email)
    for url in ("/editions/a11y-school/modules/agile", "/checkin"):
        page.goto(url)
        assert axe_violations(page) == [], url
    context.close()


def test_roster_marks_say_saved_or_why_not_and_save_counts_this_visit(page, sign_in):
    """Each click is saved at once and the row says so; offline, the row says it was not saved;
    "Save marks" then saves the rest and counts every mark this visit changed."""
    edition = EditionFactory(slug="roster-2026")
    trainer = UserFactory(trainer=True, email="maja@example.org")
    em = EditionModuleFactory(edition=edition, trainers=[trainer], module__name="Agile")
    now = utcnow()
    session = SessionFactory(
        edition_module=em, starts_at=now - timedelta(minutes=5), ends_at=now + timedelta(hours=2)
    )
    ana = RegistrationFactory(edition=edition, user__full_name="Ана Јовановић")
    bojan = RegistrationFactory(edition=edition, user__full_name="Bojan Đurić")
    cvijeta = RegistrationFactory(edition=edition, user__full_name="Cvijeta Čolić")

    sign_in("maja@example.org")
    page.goto(f"/trainer/sessions/{session.id}")
    page.locator(f"label[for='s{ana.id}-present']").click()
    expect(page.locator(f"#current-{ana.id} .mark-state")).to_have_text("✓ Saved")
    expect(page.get_by_role("status").filter(has_text="Ана Јовановић")).to_contain_text("Saved")
    page.locator(f"label[for='s{bojan.id}-late']").click()
    expect(page.locator(f"#current-{bojan.id} .mark-state")).to_have_text("✓ Saved")

    page.context.set_offline(True)
    page.locator(f"label[for='s{cvijeta.id}-excused']").click()
    state = page.locator(f"#current-{cvijeta.id} .mark-state")
    expect(state).to_contain_text("Not saved: no connection")
    expect(page.locator("#roster-live")).to_contain_text("Cvijeta Čolić: Not saved")
    expect(page.locator(f"#s{cvijeta.id}-excused")).to_be_checked()  # the choice is kept
    page.context.set_offline(False)

    page.get_by_role("button", name="Save marks").click()
    expect(page.get_by_text("Saved: 3 mark(s) changed during this visit.")).to_be_visible()
    marks = {
        a.registration_id: a.status
        for a in db.session.scalars(db.select(Attendance).filter_by(session_id=session.id))
    }
    assert marks == {
        ana.id: AttendanceStatus.PRESENT,
        bojan.id: AttendanceStatus.LATE,
        cvijeta.id: AttendanceStatus.EXCUSED,
    }
