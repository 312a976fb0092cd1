"""A participant joins the waiting list of the full demo school, is promoted when someone cancels,
and staff export the registrants; the registration pages pass axe and work on a phone."""

import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from playwright.sync_api import expect

from schoolmgr.demo import DEMO_PASSWORD, seed_demo
from schoolmgr.extensions import db
from schoolmgr.models import Edition, Registration, RegistrationStatus
from schoolmgr.registration import registering
from tests.e2e.conftest import axe_violations

SLUG = "digital-transformation-next"


@pytest.fixture
def demo(app):
    seed_demo()
    edition = db.session.scalar(sa.select(Edition).where(Edition.slug == SLUG))
    # The demo school is full with three people waiting: they give up their places first,
    # so that our participant is next in line.
    for registration in db.session.scalars(
        sa.select(Registration).where(
            Registration.edition_id == edition.id,
            Registration.status == RegistrationStatus.WAITLISTED,
        )
    ).all():
        registering.cancel(registration, registration.user)
    return edition


def first_accepted(edition) -> Registration:
    return db.session.scalar(
        sa.select(Registration)
        .where(
            Registration.edition_id == edition.id,
            Registration.status == RegistrationStatus.ACCEPTED,
        )
        .order_by(Registration.id)
    )


def test_waitlisted_participant_is_promoted_and_staff_export_the_xlsx(
    browser, live_server, page, sign_in, demo, outbox
):
    # A participant registers for the upcoming school, which is full.
    sign_in("participant@example.org", DEMO_PASSWORD)
    page.goto(f"/editions/{SLUG}")
    expect(page.get_by_text("Fully booked")).to_be_visible()
    page.get_by_role("link", name="Register", exact=True).click()
    assert page.get_by_label("Institution", exact=True).input_value()  # prefilled from the profile
    page.get_by_label("Position").fill("Head of Digital Services")
    page.get_by_label("Agile").check()
    page.get_by_label("StrengthsFinder").check()
    page.get_by_label("Accessibility or other needs").fill("Vegetarian meals")
    page.get_by_label("I agree that the school processes my personal data").check()
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("you are number 1 on the waiting list")).to_be_visible()
    expect(page.get_by_text("Position 1 on the waiting list")).to_be_visible()
    # Another participant, with a seat, cancels in their own browser.
    leaving = first_accepted(demo)
    leaving.user.preferred_language = "en"  # demo people read several languages
    db.session.commit()
    other = browser.new_context(base_url=live_server.url, locale="en-GB")
    other_page = other.new_page()
    other_page.goto("/login")
    other_page.get_by_label("Email").fill(leaving.user.email)
    other_page.get_by_label("Password").fill(DEMO_PASSWORD)
    other_page.get_by_role("button", name="Sign in").click()
    other_page.goto("/me/registrations")
    card = other_page.locator(f"#registration-{leaving.id}")
    card.get_by_text("Cancel my registration", exact=True).click()
    card.get_by_role("button", name="Yes, cancel my registration").click()
    expect(other_page.get_by_text("Your registration is cancelled.")).to_be_visible()
    other.close()

    # The first participant is promoted: accepted on the dashboard, and told by email.
    page.goto("/me/registrations")
    card = page.locator(".registration-card", has_text=demo.title)
    expect(card.get_by_text("Accepted")).to_be_visible()
    promoted = [m for m in outbox if m["To"] == "participant@example.org"]
    assert [m["Subject"] for m in promoted] == [
        f"You are on the waiting list for {demo.title}",
        f"A seat is free: you are accepted at {demo.title}",
    ]
    assert "now accepted" in promoted[-1].get_body(("plain",)).get_content()
    page.get_by_role("link", name="My schedule").click()
    expect(page.get_by_text("Agile").first).to_be_visible()
    # Staff export the registrants; the workbook opens with the right rows.
    page.get_by_role("button", name="Sign out").click()
    sign_in("staff@example.org", DEMO_PASSWORD)
    page.goto(f"/staff/editions/{SLUG}/registrations")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export XLSX").click()
    data = download_info.value.path().read_bytes()
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    header, people = rows[0], [r for r in rows[1:] if r and r[1] and "@" in str(r[1])]
    status = header.index("Status")
    assert len(people) == 25
    by_email = {r[1]: r for r in people}
    assert by_email["participant@example.org"][status] == "Accepted"
    assert by_email["participant@example.org"][header.index("Needs")] == "Vegetarian meals"
    assert by_email[leaving.user.email][status] == "Cancelled"
    assert sum(r[status] == "Accepted" for r in people) == 20
    assert "Đorđe Čolić" in {r[0] for r in rows}


REGISTRATION_PAGES = {
    "participant@example.org": (
        f"/editions/{SLUG}/register",
        "/me/registrations",
        "/me/schedule",
    ),
    "staff@example.org": (
        f"/staff/editions/{SLUG}/registrations",
        f"/staff/editions/{SLUG}/registrations/overview",
        f"/staff/editions/{SLUG}/registrations/capacity",
    ),
    None: ("/forgot-password",),
}


def test_registration_pages_have_no_serious_accessibility_violations(browser, live_server, demo):
    found = {}
    for email, paths in REGISTRATION_PAGES.items():  # one demo school for all of them
        context = browser.new_context(base_url=live_server.url, locale="en-GB")
        page = context.new_page()
        if email:
            page.goto("/login")
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page).not_to_have_url(re.compile(r"/login"))
        for path in paths:
            page.goto(path)
            found[path] = axe_violations(page)
        context.close()
    assert {path: v for path, v in found.items() if v} == {}


def test_registration_form_works_on_a_phone(browser, live_server, demo):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 375, "height": 740})
    phone = context.new_page()
    phone.goto("/login")
    phone.get_by_label("Email").fill("participant@example.org")
    phone.get_by_label("Password").fill(DEMO_PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    phone.goto(f"/editions/{SLUG}/register")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.get_by_label("Agile").check()
    phone.get_by_label("I agree that the school processes my personal data").check()
    phone.get_by_role("button", name="Register").click()
    expect(phone.get_by_text("Position 1 on the waiting list")).to_be_visible()
    context.close()
