"""Staff open the programme reports, filter them, and download the funder PDF and the XLSX."""

import io
import subprocess

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.e2e.conftest import axe_violations
from tests.factories import UserFactory
from tests.test_reports import world  # noqa: F401  (the fixture: two past editions, one ahead)


def test_staff_filter_the_reports_and_download_the_pdf_and_xlsx(page, sign_in, world, tmp_path):  # noqa: F811
    UserFactory(staff=True, email="jelena@example.org", full_name="Jelena Marković")
    sign_in("jelena@example.org")
    page.get_by_role("link", name="Reports").click()

    expect(page.get_by_role("heading", name="Programme reports")).to_be_visible()
    expect(page.locator("#figure-people dd")).to_have_text("5")
    expect(page.locator("#figure-registrations dd")).to_have_text("6")
    expect(page.locator("#figure-returning dd")).to_have_text("1")
    expect(page.get_by_role("img", name="Participants by gender")).to_be_visible()
    assert axe_violations(page) == []

    # Only 2019: the seasonal school's three participants.
    page.get_by_role("checkbox", name="2019").check()
    page.get_by_role("button", name="Show report").click()
    expect(page.locator("#selection")).to_contain_text("Years: 2019")
    expect(page.locator("#figure-people dd")).to_have_text("3")
    edition_row = page.locator("#per-edition-table tbody tr").filter(
        has_text="Digital Transformation 2019"
    )
    expect(edition_row).to_contain_text("56%")
    expect(page.locator("#per-edition-table")).not_to_contain_text("Rapid Innovation Webinar")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Funder report (PDF)").click()
    pdf_path = tmp_path / "report.pdf"
    download_info.value.save_as(pdf_path)
    text = subprocess.run(
        ["pdftotext", str(pdf_path), "-"], capture_output=True, text=True, check=True
    ).stdout
    text = " ".join(text.split())
    assert "Years: 2019" in text and "Unique people reached 3" in text
    assert "Rapid Innovation Webinar" not in text

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Figures (XLSX)").click()
    xlsx_path = tmp_path / "report.xlsx"
    download_info.value.save_as(xlsx_path)
    book = load_workbook(io.BytesIO(xlsx_path.read_bytes()))
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["Unique people reached"] == 3
    editions = [row[0] for row in book["Editions"].iter_rows(min_row=2, values_only=True)]
    assert editions == ["Digital Transformation 2019"]


def test_the_reports_page_fits_a_phone(page, sign_in, world):  # noqa: F811
    UserFactory(staff=True, email="jelena@example.org")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("jelena@example.org")
    page.goto("/staff/reports/")
    expect(page.locator("#figure-people dd")).to_have_text("5")
    # Wide tables scroll inside their own box; the page itself does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert axe_violations(page) == []
