"""What staff see and click: the edition tabs, a navbar that fits, buttons that look enabled."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from schoolmgr.models import utcnow
from tests.factories import (
    EditionFactory,
    EditionModuleFactory,
    RegistrationFactory,
    SessionFactory,
    UserFactory,
)


@pytest.fixture
def staff_world(app):
    staff = UserFactory(
        staff=True, email="jelena@example.org", full_name="Jelena Marković-Petrović"
    )
    edition = EditionFactory(slug="gov-2026", title="Governance Čačak 2026", capacity=20)
    em = EditionModuleFactory(edition=edition, module__name="Agile")
    SessionFactory(edition_module=em, starts_at=utcnow() + timedelta(days=3))
    for name in ("Đorđe Jovanović", "Јована Ђурић"):
        RegistrationFactory(edition=edition, user__full_name=name)
    return staff, edition


def test_staff_reach_every_part_of_an_edition_through_its_tabs(page, sign_in, staff_world):
    staff, edition = staff_world
    sign_in(staff.email)
    page.goto(f"/staff/editions/{edition.id}")
    tabs = page.get_by_role("navigation", name=f"Edition: {edition.title}")
    expect(tabs.get_by_role("link", name=re.compile(r"^Programme \("))).to_have_attribute(
        "aria-current", "page"
    )

    tabs.get_by_role("link", name=re.compile(r"^Registrations \(2 accepted of 20 seats")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Registrations")
    expect(page.get_by_text("Đorđe Jovanović")).to_be_visible()
    expect(page.get_by_role("link", name="Export XLSX")).to_be_visible()  # sub-tabs kept

    tabs.get_by_role("link", name=re.compile(r"^Attendance \(")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Attendance")
    tabs.get_by_role("link", name=re.compile(r"^Certificates \(")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Certificates")
    expect(page.get_by_text("1 session of this edition is still to come")).to_be_visible()
    tabs.get_by_role("link", name=re.compile(r"^Programme \(")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(edition.title)


@pytest.mark.parametrize("width", [1200, 1280, 1300])
def test_staff_navbar_fits_and_every_item_can_be_clicked(browser, live_server, staff_world, width):
    staff, _edition = staff_world
    from tests.factories import PASSWORD

    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 800}
    )
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email").fill(staff.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    nav = page.get_by_role("navigation", name="Main navigation")
    sign_out = nav.get_by_role("button", name="Sign out")
    expect(sign_out).to_be_visible()
    # Measure the page as drawn with its stylesheets: on a loaded machine the button can be
    # visible before they apply (it then overflowed the bar in one run).
    page.wait_for_load_state("load")
    box = sign_out.bounding_box()
    container = page.locator("header nav.navbar .container").bounding_box()
    assert box["x"] + box["width"] <= container["x"] + container["width"] + 1, (box, container)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    tops = {
        round(b["y"])
        for b in nav.locator(".nav-link").evaluate_all(
            "links => links.map(l => l.getBoundingClientRect())"
        )
    }
    assert len(tops) == 1, f"the navigation wraps onto {len(tops)} lines"
    for name in ("Programme", "People", "Audit log", "Verify a certificate", "Editions"):
        nav.get_by_role("link", name=name, exact=True).click()
        expect(page.locator("h1").first).to_be_visible()
    context.close()


def _luminance(rgb: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"[\d.]+", rgb)[:3])

    def channel(c):
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


BUTTONS = [
    "btn-primary",
    "btn-success",
    "btn-danger",
    "btn-outline-primary",
    "btn-outline-secondary",
    "btn-outline-danger",
    "btn-outline-success",
    "btn-outline-warning",
    "btn-outline-dark",
]


def test_every_enabled_button_style_reads_as_enabled(page, staff_world):
    """Outline buttons: text at least 6:1 and a border at least 3:1 against the page, as pale
    outlines read as disabled (axe passes them at 4.5:1); filled ones: text at least 4.5:1.
    Disabled buttons are faded and dashed, so they differ from enabled ones by more than tint."""
    page.goto("/verify")
    page.evaluate(
        """classes => { const box = document.createElement('div'); box.id = 'probe';
        box.style.background = '#fff';
        box.innerHTML = classes.map(c => `<button class="btn ${c}" type="button">${c}</button>
          <button class="btn ${c}" type="button" disabled>${c}</button>`).join('')
          + '<details open><summary class="btn btn-outline-danger">Cancel</summary></details>';
        document.querySelector('main').prepend(box); }""",
        BUTTONS,
    )
    styles = page.locator("#probe .btn").evaluate_all(
        """els => els.map(e => { const s = getComputedStyle(e);
          return {cls: e.className, disabled: e.disabled === true, color: s.color,
                  bg: s.backgroundColor, border: s.borderTopColor, opacity: s.opacity,
                  style: s.borderTopStyle}; })"""
    )
    problems = []
    for s in styles:
        background = (
            "rgb(255, 255, 255)" if s["bg"] in ("rgba(0, 0, 0, 0)", "transparent") else s["bg"]
        )
        if s["disabled"]:
            if float(s["opacity"]) > 0.6 or s["style"] != "dashed":
                problems.append(f"disabled {s['cls']} does not look disabled: {s}")
            continue
        outline = background == "rgb(255, 255, 255)"
        if _contrast(s["color"], background) < (6 if outline else 4.5):
            problems.append(f"{s['cls']}: text {s['color']} on {background}")
        if outline and _contrast(s["border"], "rgb(255, 255, 255)") < 3:
            problems.append(f"{s['cls']}: border {s['border']} too pale")
    assert problems == [], "\n".join(problems)
