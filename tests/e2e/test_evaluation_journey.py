"""Staff create an evaluation, a participant answers after the module, staff and the trainer
read the results, and the XLSX holds the same numbers as the page."""

import os
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import expect

from schoolmgr.evaluations import answering
from schoolmgr.extensions import db
from schoolmgr.models import AttendanceStatus, EvaluationForm, QuestionKind, utcnow
from tests.e2e.conftest import axe_violations
from tests.factories import (
    AttendanceFactory,
    EditionFactory,
    EditionModuleFactory,
    RegistrationFactory,
    SessionFactory,
    UserFactory,
)

SHOTS = os.environ.get("EVAL_SCREENSHOTS")  # a folder: save what the user sees, to look at


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def sign_out(page):
    page.context.clear_cookies()


def test_evaluation_from_creation_to_results(page, sign_in, app):
    now = utcnow()
    edition = EditionFactory(
        title="Seasonal School on Rapid Innovation Lab",
        start_date=now.date() - timedelta(days=1),
        end_date=now.date() + timedelta(days=2),
        registration_opens_at=now - timedelta(days=30),
        registration_closes_at=now - timedelta(days=3),
    )
    trainer = UserFactory(trainer=True, email="maja@example.org", full_name="Maja Kovačević")
    agile = EditionModuleFactory(edition=edition, trainers=[trainer], module__name="Agile")
    later = EditionModuleFactory(edition=edition, module__name="Remote Teams")
    done = SessionFactory(
        edition_module=agile, starts_at=now - timedelta(hours=4), ends_at=now - timedelta(hours=1)
    )
    SessionFactory(
        edition_module=later,
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=1, hours=3),
    )
    UserFactory(role="staff", email="jelena@example.org", full_name="Jelena Marković")
    names = ["Ана Јовановић", "Bojan Đurić", "Elira Shehu", "Arben Krasniqi", "Ivana Petrović"]
    registrations = [
        RegistrationFactory(edition=edition, user__email=f"p{i}@example.org", user__full_name=name)
        for i, name in enumerate(names)
    ]
    for registration in registrations:
        AttendanceFactory(session=done, registration=registration, status=AttendanceStatus.PRESENT)

    # Staff create the form from the template, reorder a question and publish.
    sign_in("jelena@example.org")
    page.goto(f"/staff/editions/{edition.id}")
    page.get_by_role("link", name="Evaluations").click()
    expect(page.get_by_text("No evaluation form yet")).to_be_visible()
    page.get_by_label("Evaluation (at the end of each module and edition)").check()
    page.get_by_role("button", name="Create the form").click()
    expect(page.locator(".question-text").first).to_have_text("The content of the module")
    page.get_by_role("button", name="Move “The trainer” up").click()
    module_list = page.locator("ol.question-list").first
    expect(module_list.locator(".question-text").nth(1)).to_have_text("The trainer")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".form-status")).to_have_text("Published")
    shot(page, "staff-edit")
    sign_out(page)

    # A participant who attended Agile sees the notice and answers, once.
    sign_in("p0@example.org")
    page.goto("/me/registrations")
    expect(page.get_by_role("heading", name="Your evaluation is waiting")).to_be_visible()
    page.get_by_role("link", name=f"{edition.title}: Agile").click()
    expect(page.get_by_text("Your answers are anonymous.")).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "participant-answer")
    for group, value in (
        ("The content of the module", "5"),
        ("The trainer", "4"),
        ("Its relevance to my job", "4"),
        ("The materials", "3"),
    ):
        page.get_by_role("group", name=group).get_by_text(value, exact=True).click()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_text("Thank you: your answers are saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Your evaluation is waiting")).to_have_count(0)
    sign_out(page)

    # Four more participants answer; staff close the form.
    form = db.session.query(EvaluationForm).one()
    part = next(p for p in form.parts if p.edition_module_id == agile.id)
    for registration, content in zip(registrations[1:], [4, 4, 2, 5], strict=True):
        values = {
            q.id: content if q.text == "The content of the module" else 4
            for q in answering.questions_for(part)
            if q.kind == QuestionKind.RATING
        }
        answering.submit(part, registration, values, date.today())

    sign_in("jelena@example.org")
    page.goto(f"/staff/evaluations/{form.id}")
    page.get_by_role("button", name="Close the form").click()
    expect(page.locator(".form-status")).to_have_text("Closed")
    page.get_by_role("link", name="Results", exact=True).click()
    agile_section = page.locator("section.part-result").filter(
        has=page.get_by_role("heading", name="Agile")
    )
    expect(agile_section.locator(".response-rate")).to_contain_text("5 / 5")
    content = agile_section.locator("article.question-result").filter(
        has=page.get_by_role("heading", name="The content of the module")
    )
    expect(content.locator(".q-mean")).to_have_text("mean 4.0")
    expect(content.locator("svg title")).to_have_text("The content of the module")
    expect(content.locator("table.distribution tbody tr").nth(1)).to_contain_text("1")
    assert axe_violations(page) == []
    shot(page, "staff-results")
    page_mean = content.locator(".q-mean").inner_text().removeprefix("mean ")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download XLSX").click()
    book = load_workbook(BytesIO(Path(download.value.path()).read_bytes()))
    rows = list(book["Agile"].iter_rows(values_only=True))
    assert rows[2][:2] == ("Responses", 5)
    xlsx = next(r for r in rows if r[0] == "The content of the module")
    assert xlsx[2] == 5 and f"{xlsx[3]:.1f}" == page_mean
    sign_out(page)

    # The trainer sees Agile's results (closed, five answers), on a phone too.
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in("maja@example.org")
    page.goto(f"/trainer/modules/{agile.id}")
    page.get_by_role("link", name=f"Results of “{form.title}”").click()
    expect(page.get_by_role("heading", name="Results: Agile")).to_be_visible()
    expect(page.locator(".q-mean").first).to_have_text("mean 4.0")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "trainer-results-phone")
