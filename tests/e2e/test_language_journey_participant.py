"""A participant walks home → edition → register → dashboard → certificates in Macedonian and
in Albanian, having chosen the language in the header: no interface string is left in English,
`<html lang>` names the language, and axe finds nothing serious."""

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po
from flask_babel import gettext
from playwright.sync_api import expect

from schoolmgr import catalogues
from schoolmgr.demo import DEMO_PASSWORD, seed_demo
from schoolmgr.extensions import db
from schoolmgr.i18n import babel_locale, in_language
from schoolmgr.models import Edition
from tests.e2e.conftest import axe_violations

WEBINAR = "webinar-crisis-communication"


def english_strings_of(tag: str) -> set[str]:
    """English interface strings whose translation in `tag` differs (so seeing one is a miss)."""
    with catalogues.po_path(babel_locale(tag)).open("rb") as f:
        catalog = read_po(f)
    english = set()
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or "%" in message.id:
            continue
        if message.string and message.string != message.id and len(message.id) > 3:
            english.add(message.id)
    return english


def english_left_on(page, english: set[str]) -> list[str]:
    """Whole lines of the visible page (and the title) that are an English interface string."""
    lines = [line.strip() for line in page.locator("body").inner_text().splitlines()]
    lines.append(page.title().split(" · ")[0])
    return sorted({line for line in lines if line in english})


@pytest.mark.parametrize(("tag", "menu_name"), [("mk", "македонски"), ("sq", "shqip")])
def test_participant_journey_in_the_chosen_language(page, app, tag, menu_name):
    seed_demo()
    title = db.session.scalar(sa.select(Edition.title).where(Edition.slug == WEBINAR))
    with in_language(tag):
        received = gettext(
            "Your registration for %(t)s was received; the programme staff will decide.", t=title
        )
    english = english_strings_of(tag)
    assert len(english) > 500

    def check(where: str):
        expect(page.locator("html")).to_have_attribute("lang", tag)
        assert english_left_on(page, english) == [], where
        assert axe_violations(page) == [], where

    page.goto("/login")
    page.locator("#email").fill("participant@example.org")
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#language-menu")).to_be_visible()
    page.locator("#language-menu").select_option(label=menu_name)
    page.locator(".language-bar button[type=submit]").click()

    page.goto("/")
    check("home")
    page.goto(f"/editions/{WEBINAR}")
    check("edition")

    page.goto(f"/editions/{WEBINAR}/register")
    check("register")
    if page.locator("#position").input_value() == "":
        page.locator("#position").fill("Policy officer")
    page.locator("#consent").check()
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator(".flash-messages")).to_contain_text(received)

    page.goto("/me/registrations")
    check("dashboard")
    page.goto("/me/certificates")
    check("certificates")
