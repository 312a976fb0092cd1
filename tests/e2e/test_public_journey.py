"""A visitor finds an edition, signs up and signs in, in a real browser; public pages pass axe."""

import pytest
from playwright.sync_api import expect

from schoolmgr.demo import seed_demo
from tests.e2e.conftest import axe_violations


@pytest.fixture
def demo(app):
    seed_demo()


def test_visitor_opens_an_edition_signs_up_and_signs_in(page, demo):
    page.goto("/")
    page.get_by_role("link", name="Seasonal School on Digital Transformation 20").first.click()
    expect(page.get_by_role("heading", level=2, name="Schedule")).to_be_visible()
    expect(page.get_by_text("StrengthsFinder").first).to_be_visible()
    page.get_by_role("link", name="Create an account").first.click()
    page.get_by_label("Full name").fill("Ëndrit Krasniqi")
    page.get_by_label("Email").fill("endrit.krasniqi@example.org")
    page.get_by_label("Password", exact=True).fill("a long enough password")
    page.get_by_label("Repeat password").fill("a long enough password")
    page.get_by_label("Country").select_option(label="Kosovo*")
    page.get_by_label("Institution").fill("Agency for Information Society")
    page.get_by_role("button", name="Create account").click()
    # The same answer whether or not the address had an account: check your email, sign in.
    expect(page.get_by_text("Check your email")).to_be_visible()
    page.get_by_label("Email").fill("endrit.krasniqi@example.org")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as Ëndrit Krasniqi")).to_be_visible()
    # Back on the edition they came from, now able to act on it.
    assert "/editions/digital-transformation-next" in page.url

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have been signed out")).to_be_visible()
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Email").fill("ENDRIT.KRASNIQI@example.org")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as Ëndrit Krasniqi")).to_be_visible()


PUBLIC_PAGES = (
    "/",
    "/editions/digital-transformation-next",
    "/editions/digital-transformation-2019",
    "/modules",
    "/modules/agile",
    "/login",
    "/signup",
    "/no-such-page",
)


def test_public_pages_have_no_serious_accessibility_violations(page, demo):
    found = {}
    for path in PUBLIC_PAGES:  # one demo school for all of them (seeding it takes seconds)
        page.goto(path)
        found[path] = axe_violations(page)
    assert {path: v for path, v in found.items() if v} == {}


def test_home_page_works_on_a_phone(browser, live_server, demo):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 375, "height": 740})
    phone = context.new_page()
    phone.goto("/")
    # The menu collapses behind a toggle that works by keyboard.
    toggle = phone.get_by_role("button", name="Toggle navigation")
    expect(toggle).to_be_visible()
    toggle.focus()
    phone.keyboard.press("Enter")
    phone.get_by_role("link", name="Modules").wait_for(state="visible")
    no_horizontal_scroll = phone.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth"
    )
    assert no_horizontal_scroll
    context.close()
