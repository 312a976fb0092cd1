"""The pages work in a real browser under the Content-Security-Policy (no violations, JS runs)."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import EditionFactory, UserFactory


@pytest.fixture
def csp_violations(page):
    """Collect CSP violations the browser reports, from the console and the DOM event."""
    found: list[str] = []
    page.on(
        "console",
        lambda msg: found.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return found


def test_pages_render_and_bootstrap_js_runs_under_the_csp(page, sign_in, csp_violations):
    UserFactory(email="maja@example.org", full_name="Maja Kovačević")
    edition = EditionFactory(title="Seasonal School on Digital Transformation")

    response = page.goto("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.goto(f"/editions/{edition.slug}")
    page.goto("/signup")
    sign_in("maja@example.org")
    expect(page.get_by_text("Signed in as Maja Kovačević")).to_be_visible()
    # Bootstrap's JS (an external script, allowed) dismisses the flash message.
    page.get_by_role("button", name="Close").click()
    page.get_by_text("Signed in as Maja Kovačević").wait_for(state="detached")

    # On a phone the navigation collapses behind the toggler, which Bootstrap opens.
    page.set_viewport_size({"width": 390, "height": 800})
    sign_out = page.get_by_role("button", name="Sign out")
    assert not sign_out.is_visible()
    page.get_by_role("button", name="Toggle navigation").click()
    # Wait until Bootstrap has finished opening the menu (class "show", not "collapsing").
    expect(page.locator("#mainnav")).to_have_class(re.compile(r"\bshow\b"))
    sign_out.wait_for(state="visible")

    # Forms post normally (form-action 'self').
    sign_out.click()
    page.get_by_text("You have been signed out.").wait_for()

    assert csp_violations == []


def test_the_csp_really_blocks_injected_inline_script(page, live_server, csp_violations):
    page.goto("/")
    page.evaluate(
        """() => {
            const s = document.createElement('script');
            s.textContent = 'window.__injected = true';
            document.body.appendChild(s);
        }"""
    )

    assert page.evaluate("() => window.__injected === undefined")
    assert csp_violations, "the browser should report the blocked inline script"


def test_pages_with_javascript_run_without_csp_violations_or_errors(page, sign_in, live_server):
    """The trainer and staff pages that load static/js/*.js, in a real browser under the CSP."""
    from tests.test_authorization_matrix import build_world

    world = build_world()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    sign_in(world.staff.email)
    urls = [
        f"/trainer/sessions/{world.session1.id}",
        f"/trainer/sessions/{world.session1.id}/checkin",
        f"/trainer/modules/{world.em1.id}",
        f"/staff/editions/{world.edition.slug}/certificates/runs/{world.batch.id}",
        f"/staff/editions/{world.edition.slug}/registrations",
        f"/staff/editions/{world.edition.id}",
    ]
    for url in urls:
        response = page.goto(url)
        assert response.status == 200, url
        page.wait_for_timeout(300)  # let scripts run (polling, QR refresh)

    assert errors == []
