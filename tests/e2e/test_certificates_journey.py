"""Certificates end to end: exception, bulk issue with progress, ZIP, participant download,
verification by QR URL, revocation, and an edited PDF caught on upload."""

import io
import zipfile
from pathlib import Path

import pypdf
import sqlalchemy as sa

from schoolmgr.demo import DEMO_PASSWORD, seed_demo
from schoolmgr.extensions import db
from schoolmgr.models import Certificate, Registration, User
from tests.e2e.conftest import UI_TIMEOUT_MS, axe_violations

EDITION = "digital-transformation-2019"


def signed_in_page(browser, live_server, email):
    context = browser.new_context(base_url=live_server.url, locale="en-GB", accept_downloads=True)
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return page


def test_certificates_journey(browser, live_server, page, tmp_path):
    seed_demo()
    staff = signed_in_page(browser, live_server, "staff@example.org")

    # Staff open the eligibility list and grant one exception, with a reason.
    staff.goto(f"/staff/editions/{EDITION}/certificates")
    assert axe_violations(staff) == []
    row = staff.locator("tbody tr", has=staff.get_by_text("Not eligible", exact=True)).first
    name = row.locator("th").inner_text().splitlines()[0]
    row_id = row.get_attribute("id")
    row.locator("summary").click()
    row.get_by_label(f"Reason for {name}").fill("Missed one day for a ministerial meeting")
    row.get_by_role("button", name="Grant exception").click()
    staff.get_by_text(f"Decision recorded for {name}.").wait_for()
    granted = staff.locator(f"#{row_id}")
    assert "Exception" in granted.inner_text()

    # Issue all, watch the progress complete.
    staff.get_by_role("button", name="Issue all missing certificates").click()
    staff.get_by_role("heading", name="Issuing certificates").wait_for()
    staff.get_by_text("Finished").wait_for()
    total = int(staff.locator('[data-field="total"]').inner_text())
    assert int(staff.locator('[data-field="done"]').inner_text()) == total > 0
    assert staff.locator('[data-field="failed"]').inner_text() == "0"

    # Download the ZIP: one PDF per certificate, the excepted participant included.
    with staff.expect_download() as download:
        staff.get_by_role("link", name="Download all (ZIP)").click()
    archive = zipfile.ZipFile(download.value.path())
    assert len(archive.namelist()) == total

    # A participant downloads their PDF from their certificates page.
    page.goto("/login")
    page.get_by_label("Email").fill("participant@example.org")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    page.goto("/me/certificates")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").first.click()
    pdf_bytes = Path(download.value.path()).read_bytes()
    text = pypdf.PdfReader(io.BytesIO(pdf_bytes)).pages[0].extract_text()
    assert "Đorđe Čolić" in text

    # A visitor opens the verify URL from the QR code and sees "valid".
    certificate = db.session.scalar(
        sa.select(Certificate)
        .join(Registration)
        .join(User, User.id == Registration.user_id)
        .where(User.email == "participant@example.org")
    )
    visitor = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    visitor.goto(certificate.snapshot["verify_url"])
    visitor.get_by_text("Valid", exact=True).wait_for()
    assert "Đorđe Čolić" in visitor.content()
    assert axe_violations(visitor) == []

    # Staff revoke it; the verify page then says "revoked".
    staff.goto(f"/staff/certificates/{certificate.id}")
    staff.get_by_label("Why").select_option("issued_in_error")
    staff.get_by_label("Details").fill("Attendance sheet of day 3 was misread")
    staff.get_by_role("button", name="Revoke certificate").click()
    staff.get_by_text(f"Certificate {certificate.serial} revoked.").wait_for()
    visitor.reload()
    visitor.get_by_text("Revoked", exact=True).wait_for()
    assert "Issued in error" in visitor.content()

    # An edited PDF uploaded on the verify page is reported as not issued.
    edited = tmp_path / "edited.pdf"
    edited.write_bytes(pdf_bytes.replace(b"%%EOF", b"% edited\n%%EOF"))
    visitor.goto("/verify")
    visitor.get_by_label("Certificate PDF").set_input_files(str(edited))
    visitor.get_by_role("button", name="Check the file").click()
    visitor.get_by_text("This file was not issued by us").wait_for()
