"""Staff write to a filtered group of an edition and move a session, in a real browser."""

import email
import email.policy

import pytest
from playwright.sync_api import expect

from schoolmgr.models import Country, RegistrationStatus
from tests.e2e.conftest import axe_violations
from tests.factories import (
    EditionFactory,
    EditionModuleFactory,
    ModuleFactory,
    RegistrationFactory,
    SessionFactory,
    UserFactory,
)


def parsed(message) -> email.message.EmailMessage:
    return email.message_from_bytes(bytes(message), policy=email.policy.default)


def plain(message) -> str:
    return parsed(message).get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def school(app):
    edition = EditionFactory(title="Seasonal School on Rapid Innovation")
    trainer = UserFactory(trainer=True, full_name="Bekim Gashi", email="bekim@example.org")
    em = EditionModuleFactory(
        edition=edition, module=ModuleFactory(name="Remote Teams"), trainers=[trainer]
    )
    session = SessionFactory(edition_module=em, room="Hall Biljana")

    def person(name, address, status, country):
        position = 1 if status == RegistrationStatus.WAITLISTED else None
        return RegistrationFactory(
            edition=edition,
            user=UserFactory(full_name=name, email=address, country=country),
            status=status,
            waitlist_position=position,
        )

    people = [
        person(
            "Jelena Marković", "jelena@example.org", RegistrationStatus.ACCEPTED, Country.SERBIA
        ),
        person(
            "Miloš Đorđević", "milos@example.org", RegistrationStatus.WAITLISTED, Country.SERBIA
        ),
        person("Ardit Hoxha", "ardit@example.org", RegistrationStatus.ACCEPTED, Country.ALBANIA),
        person("Ana Petrovska", "ana@example.org", RegistrationStatus.PENDING, Country.SERBIA),
    ]
    UserFactory(staff=True, email="staff@example.org", full_name="Staff Member")
    return {"edition": edition, "session": session, "people": people, "trainer": trainer}


def test_staff_send_an_announcement_to_a_filtered_group(page, sign_in, school, outbox):
    sign_in("staff@example.org")
    page.goto(f"/staff/editions/{school['edition'].id}")
    page.get_by_role("link", name="Announcements").click()
    page.get_by_role("link", name="New announcement").click()

    # Accepted and waiting list, from Serbia: Jelena and Miloš (not Ardit, not Ana).
    page.get_by_label("Waiting list").check()
    page.get_by_label("Country").select_option(label="Serbia")
    page.get_by_label("Subject").fill("Practical information for {first_name}")
    page.get_by_label("Message").fill("Dear {first_name},\n\nwelcome to {edition}.\n{my_sessions}")
    page.get_by_role("button", name="Preview and count recipients").click()
    expect(page.locator("#recipient-count")).to_have_text("2 recipients")
    # The preview starts with the first recipient by family name: Đorđević before Marković.
    expect(page.locator("#preview-subject")).to_have_text("Practical information for Miloš")
    page.get_by_label("Preview for").select_option(label="Jelena Marković (Accepted)")
    page.get_by_role("button", name="Preview and count recipients").click()
    expect(page.locator("#preview-body")).to_contain_text("Dear Jelena,")
    assert axe_violations(page) == []

    # A double click posts the form twice; that it then sends once is proven on the route
    # (test_compose_page_previews_then_sends_once_per_form): in the browser the second
    # submission cancels the first navigation, which Playwright can wait on forever.
    page.get_by_role("button", name="Send to 2 people").click()
    expect(page.get_by_text("Announcement sent to 2 people.")).to_be_visible()
    expect(page.locator(".delivery-counts")).to_contain_text("Delivered: 2")
    expect(
        page.get_by_role("heading", name="Practical information for {first_name}")
    ).to_be_visible()
    assert axe_violations(page) == []

    messages = sorted((parsed(m) for m in outbox), key=lambda m: m["To"])
    assert [m["To"] for m in messages] == ["jelena@example.org", "milos@example.org"]
    assert [m["Subject"] for m in messages] == [
        "Practical information for Jelena",
        "Practical information for Miloš",
    ]
    body = plain(outbox[0]) if outbox[0]["To"] == "jelena@example.org" else plain(outbox[1])
    assert "Dear Jelena," in body
    assert "welcome to Seasonal School on Rapid Innovation." in body
    assert "Remote Teams (Hall Biljana)" in body
    assert "{" not in body.split("--")[0]

    # The participant sees it on their dashboard.
    page.get_by_role("button", name="Sign out").click()
    sign_in("milos@example.org")
    page.goto("/me/registrations")
    page.get_by_text("1 announcement").click()
    expect(page.get_by_text("Practical information for Miloš")).to_be_visible()


def test_a_moved_session_emails_the_right_people_once(page, sign_in, school, outbox):
    sign_in("staff@example.org")
    session = school["session"]
    page.goto(f"/staff/sessions/{session.id}/edit")
    page.get_by_label("Starts").fill("14:00")
    page.get_by_label("Ends").fill("17:00")
    page.get_by_role("button", name="Save session").click()
    expect(page.get_by_text("Session saved")).to_be_visible()

    recipients = sorted(parsed(m)["To"] for m in outbox)
    # Accepted participants of the module and its trainer; not the waiting list or pending.
    assert recipients == ["ardit@example.org", "bekim@example.org", "jelena@example.org"]
    body = plain(outbox[0])
    assert "09:30–12:30, Hall Biljana" in body and "14:00–17:00, Hall Biljana" in body
    assert len(outbox) == 3  # one email each
