"""A visitor switches the language from the header and keeps it; the page says which it is."""

from playwright.sync_api import expect

from tests.e2e.conftest import axe_violations


def test_visitor_switches_to_macedonian_with_the_keyboard_and_keeps_it(page):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    menu = page.get_by_role("combobox", name="Language")
    menu.focus()
    menu.select_option(label="македонски")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the "Change" button, reached by keyboard

    expect(page.locator("html")).to_have_attribute("lang", "mk")
    expect(page.get_by_role("link", name="Изданија", exact=True)).to_be_visible()
    assert axe_violations(page) == []

    # The choice stays on the next page, although the browser asks for English.
    page.goto("/modules")
    expect(page.locator("html")).to_have_attribute("lang", "mk")
    expect(page.get_by_role("combobox", name="Јазик")).to_have_value("mk")


def test_the_language_menu_fits_a_phone(page):
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/")
    box = page.get_by_role("button", name="Change").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
