"""Staff build an edition from scratch in a real browser; a visitor then finds it."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from schoolmgr.models import utcnow
from tests.e2e.conftest import axe_violations
from tests.factories import UserFactory


@pytest.fixture
def people(app):
    return {
        "staff": UserFactory(staff=True, email="jelena@example.org", full_name="Jelena Marković"),
        "trainer1": UserFactory(trainer=True, full_name="Ivana Ivanović"),
        "trainer2": UserFactory(trainer=True, full_name="Bekim Gashi"),
    }


def test_staff_create_and_publish_an_edition_and_a_visitor_sees_its_schedule(page, sign_in, people):
    start = utcnow().date() + timedelta(days=60)
    end = start + timedelta(days=2)
    sign_in("jelena@example.org")

    # Two catalogue modules.
    for name in ("Crisis Communication", "Remote Teams"):
        page.goto("/staff/modules/new")
        page.get_by_label("Name").fill(name)
        page.get_by_label("Summary").fill(f"{name} for public servants.")
        page.get_by_role("button", name="Save module").click()
        expect(page.get_by_text(f"Module {name} saved")).to_be_visible()
    # The edition.
    page.get_by_role("link", name="Programme", exact=True).first.click()
    page.get_by_role("link", name="New edition").click()
    page.get_by_label("Title").fill("Seasonal School on Resilient Administrations")
    page.get_by_label("Series").fill("resilient-administrations")
    page.get_by_label("Venue").fill("Ohrid, North Macedonia")
    page.get_by_label("First day").fill(start.isoformat())
    page.get_by_label("Last day").fill(end.isoformat())
    page.get_by_label("Time zone").select_option("Europe/Skopje")
    page.get_by_label("Registration closes (day)").fill((start - timedelta(days=7)).isoformat())
    page.get_by_label("Registration closes (time)").fill("23:59")
    page.get_by_label("Capacity").fill("24")
    page.get_by_label("Description").fill("Three days on keeping services running in a crisis.")
    page.get_by_role("button", name="Save edition").click()
    expect(
        page.get_by_text("Draft edition Seasonal School on Resilient Administrations")
    ).to_be_visible()

    # Two modules, each with a trainer and a session.
    plan = [
        ("Crisis Communication", "Ivana Ivanović", 0, "09:30", "12:30"),
        ("Remote Teams", "Bekim Gashi", 1, "14:00", "17:00"),
    ]
    for module, trainer, day, begins, ends in plan:
        page.get_by_label("Module", exact=True).select_option(label=module)
        page.get_by_role("button", name="Add module").click()
        page.get_by_role("link", name=f"Trainers – {module}").click()
        page.get_by_label("Trainers", exact=True).select_option(
            label=f"{trainer} ({_email(people, trainer)})"
        )
        page.get_by_role("button", name="Save trainers").click()
        page.get_by_role("link", name=f"Add session – {module}").click()
        page.get_by_label("Day").fill((start + timedelta(days=day)).isoformat())
        page.get_by_label("Starts").fill(begins)
        page.get_by_label("Ends").fill(ends)
        page.get_by_label("Room").fill("Hall Biljana")
        page.get_by_role("button", name="Save session").click()
        expect(page.get_by_text("Session saved")).to_be_visible()
    expect(page.get_by_text("Ivana Ivanović")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("Published: visitors now see this edition")).to_be_visible()
    # A visitor.
    page.get_by_role("button", name="Sign out").click()
    page.goto("/")
    page.get_by_role("link", name="Seasonal School on Resilient Administrations").click()
    schedule = page.locator("section[aria-labelledby=schedule-heading]")
    expect(schedule.get_by_text("09:30–12:30")).to_be_visible()
    expect(schedule.get_by_text("14:00–17:00")).to_be_visible()
    expect(schedule.get_by_text("Remote Teams")).to_be_visible()
    expect(page.get_by_text("Trainers: Bekim Gashi")).to_be_visible()
    expect(page.get_by_text("Europe/Skopje").first).to_be_visible()


def _email(people, name):
    return next(u.email for u in people.values() if u.full_name == name)


def test_staff_pages_have_no_serious_accessibility_violations(page, sign_in, people):
    sign_in("jelena@example.org")
    found = {}
    for path in ("/staff/editions", "/staff/modules", "/staff/people/", "/account/"):
        page.goto(path)
        found[path] = axe_violations(page)
    assert {path: v for path, v in found.items() if v} == {}


def test_programme_pages_fit_a_phone(browser, live_server, people, app):
    from tests.factories import PASSWORD, EditionModuleFactory, SessionFactory

    em = EditionModuleFactory(trainers=[people["trainer1"]])
    SessionFactory(edition_module=em, title="A rather long session title for a small screen")
    context = browser.new_context(base_url=live_server.url, viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill("jelena@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    for path in (f"/staff/editions/{em.edition_id}", "/staff/editions", "/staff/people/"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
    context.close()
