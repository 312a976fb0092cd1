"""National coordinators and country seats in the browser: a coordinator nominates a person of
their country and staff see it; a seat freed by a Serbian goes to the first Serbian waiting; the
pages pass axe and work on a phone."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from schoolmgr.demo import DEMO_PASSWORD, seed_demo
from schoolmgr.extensions import db
from schoolmgr.models import (
    Country,
    Edition,
    Nomination,
    OutboundEmail,
    Registration,
    RegistrationStatus,
    User,
)
from tests import factories
from tests.e2e.conftest import axe_violations

LAB = "rapid-innovation-lab-next"


@pytest.fixture
def demo(app):
    seed_demo()
    return db.session.scalar(sa.select(Edition).where(Edition.slug == LAB))


def sign_in_as(page, email, password=DEMO_PASSWORD):
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def awaiting_serbian(edition) -> Registration:
    return db.session.scalar(
        sa.select(Registration)
        .join(Registration.user)
        .where(
            Registration.edition_id == edition.id,
            User.country == Country.SERBIA,
            Registration.nomination.is_(None),
        )
        .order_by(Registration.id)
    )


def test_a_coordinator_nominates_and_staff_see_it(page, demo):
    waiting = awaiting_serbian(demo)
    name = waiting.user.full_name
    sign_in_as(page, "coordinator@example.org")
    page.get_by_role("link", name="Nominations").click()
    expect(page.get_by_role("heading", name="Nominations")).to_be_visible()
    page.get_by_role("link", name=demo.title).click()
    # Only Serbian people are listed; nobody from Albania.
    albanian = db.session.scalar(
        sa.select(User.full_name)
        .join(Registration, Registration.user_id == User.id)
        .where(Registration.edition_id == demo.id, User.country == Country.ALBANIA)
    )
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.get_by_text(albanian)).to_have_count(0)

    card = page.locator(f"#registration-{waiting.id}")
    card.get_by_label("Nominated", exact=True).check()
    card.get_by_label("Rank").fill("2")
    card.get_by_label("Note for the programme staff").fill("Runs the eGovernment lab")
    card.get_by_role("button", name=f"Save for {name}").click()
    expect(page.get_by_text(f"{name} is nominated.")).to_be_visible()
    expect(page.locator(f"#registration-{waiting.id} .nomination-badge")).to_have_text("Nominated")

    db.session.expire_all()
    stored = db.session.get(Registration, waiting.id)
    assert (stored.nomination, stored.nomination_rank) == (Nomination.NOMINATED, 2)
    assert stored.status == RegistrationStatus.PENDING
    told = db.session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.template == "registration_nominated")
    ).all()
    assert [m.recipient for m in told] == [waiting.user.email]

    # Staff see the nomination, and the seats per country now count three Serbians nominated.
    page.get_by_role("button", name="Sign out").click()
    sign_in_as(page, "staff@example.org")
    page.goto(f"/staff/editions/{LAB}/registrations/overview")
    serbia = page.locator('#country-seats tr[data-country="RS"]')
    expect(serbia.locator("td").nth(0)).to_have_text("4")  # seats reserved
    expect(serbia.locator("td").nth(4)).to_have_text("3")  # nominated
    page.goto(f"/staff/editions/{LAB}/registrations?q={name}")
    expect(page.get_by_text("Runs the eGovernment lab", exact=False)).to_be_attached()


def test_a_freed_serbian_seat_promotes_the_first_serbian_waiting(browser, live_server, app):
    F = factories  # noqa: N806
    edition = F.EditionFactory(capacity=4, title="Country Seats School")
    F.set_quotas(edition, RS=2, AL=2)
    leaving = F.RegistrationFactory(
        edition=edition, user=F.UserFactory(country=Country.SERBIA, email="leaving@example.org")
    )
    F.RegistrationFactory(edition=edition, user=F.UserFactory(country=Country.SERBIA))
    for _ in range(2):
        F.RegistrationFactory(edition=edition, user=F.UserFactory(country=Country.ALBANIA))
    waiting_albanian = F.RegistrationFactory(
        edition=edition,
        user=F.UserFactory(country=Country.ALBANIA, email="albanian@example.org"),
        status=RegistrationStatus.WAITLISTED,
        waitlist_position=1,
    )
    waiting_serb = F.RegistrationFactory(
        edition=edition,
        user=F.UserFactory(country=Country.SERBIA, email="serb@example.org"),
        status=RegistrationStatus.WAITLISTED,
        waitlist_position=2,
    )

    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    page = context.new_page()
    sign_in_as(page, "leaving@example.org", factories.PASSWORD)
    page.get_by_role("link", name="My registrations").click()
    card = page.locator(f"#registration-{leaving.id}")
    card.get_by_text("Cancel my registration", exact=True).click()
    card.get_by_role("button", name="Yes, cancel my registration").click()
    expect(page.get_by_text("Your registration is cancelled.")).to_be_visible()
    context.close()

    # The Serbian, second on the list, has the seat; the Albanian waits, now first.
    serb = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    sign_in_as(serb, "serb@example.org", factories.PASSWORD)
    serb.goto("/me/registrations")
    expect(serb.locator(f"#registration-{waiting_serb.id}").get_by_text("Accepted")).to_be_visible()
    albanian = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    sign_in_as(albanian, "albanian@example.org", factories.PASSWORD)
    albanian.goto("/me/registrations")
    expect(
        albanian.locator(f"#registration-{waiting_albanian.id}").get_by_text(
            "Position 1 on the waiting list"
        )
    ).to_be_visible()
    promoted = db.session.scalars(
        sa.select(OutboundEmail.recipient).where(OutboundEmail.template == "registration_promoted")
    ).all()
    assert promoted == ["serb@example.org"]


NOMINATION_AND_SEAT_PAGES = {
    "coordinator@example.org": ("/coordinator/", f"/coordinator/editions/{LAB}"),
    "staff@example.org": (
        f"/staff/editions/{LAB}/registrations/seats",
        f"/staff/editions/{LAB}/registrations/overview",
    ),
}


def test_nomination_and_seat_pages_pass_axe_and_fit_a_phone(browser, live_server, demo):
    violations, sideways = {}, []
    for email, paths in NOMINATION_AND_SEAT_PAGES.items():  # one demo school for all
        context = browser.new_context(
            base_url=live_server.url, locale="en-GB", viewport={"width": 390, "height": 844}
        )
        page = context.new_page()
        sign_in_as(page, email)
        for path in paths:
            page.goto(path)
            violations[path] = axe_violations(page)
            if page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
                sideways.append(path)
        context.close()
    assert {path: v for path, v in violations.items() if v} == {}
    assert sideways == [], "these pages scroll sideways at 390 px"


def test_the_seats_per_country_show_every_column_on_a_laptop(browser, live_server, demo):
    """Six columns in Bosnian, whose headings are the longest: none hides behind a scroll."""
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 1280, "height": 800}
    )
    page = context.new_page()
    sign_in_as(page, "staff@example.org")
    page.locator(".language-bar select").select_option("bs")
    page.locator(".language-bar button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "bs")
    page.goto(f"/staff/editions/{LAB}/registrations/overview")
    table = page.locator("#country-seats")
    expect(table.locator("thead th").last).to_have_text("Nominovan")
    assert table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth")
    context.close()
