# ruff: noqa: E501  (the date table is aligned on purpose)
"""Languages: which one a visitor gets, the header menu, dates in the language, emails in the
recipient's language, and catalogues kept in step with the code."""

import re
from datetime import date
from email import message_from_bytes, policy

import pytest
from flask_babel import force_locale

from schoolmgr import catalogues
from schoolmgr.i18n import LANGUAGES, in_language
from schoolmgr.mail import queue_email
from schoolmgr.timeutils import fmt_date, fmt_date_range
from tests import factories


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


@pytest.mark.parametrize(
    ("accept", "tag", "nav_label"),
    [
        ("mk-MK,mk;q=0.9,en;q=0.5", "mk", "Изданија"),
        ("sq", "sq", "Edicionet"),
        ("sr-Latn-RS,sr;q=0.8", "sr-Latn", "Izdanja"),
        ("sr", "sr-Cyrl", "Издања"),
        ("sr-ME", "cnr", "Izdanja"),
        ("hr-HR", "hr", "Izdanja"),
        ("de-DE,fr;q=0.8", "en", "Editions"),
    ],
)
def test_first_visit_follows_the_browser_language(client, accept, tag, nav_label):
    response = client.get("/", headers={"Accept-Language": accept})
    assert response.status_code == 200
    assert html_lang(response) == tag
    assert f">{nav_label}</a>" in response.get_data(as_text=True)


def test_the_header_menu_names_every_language_in_itself(client):
    page = client.get("/").get_data(as_text=True)
    names = re.findall(r'<option value="([^"]+)" lang="[^"]+"[^>]*>([^<]+)</option>', page)
    assert names == [
        ("en", "English"),
        ("sq", "shqip"),
        ("bs", "bosanski"),
        ("hr", "hrvatski"),
        ("mk", "македонски"),
        ("cnr", "crnogorski"),
        ("sr-Cyrl", "српски"),
        ("sr-Latn", "srpski"),
    ]
    assert '<label for="language-menu"' in page


def test_an_anonymous_choice_is_kept_in_a_cookie_over_the_browser_language(client):
    response = client.post(
        "/language", data={"language": "cnr", "next": "/modules?x=1"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/modules?x=1")
    assert "lang=cnr" in response.headers["Set-Cookie"]

    page = client.get("/", headers={"Accept-Language": "mk"})
    assert html_lang(page) == "cnr"
    assert "crnogorski</option>" in page.get_data(as_text=True)


def test_the_menu_goes_back_only_to_pages_of_this_site(client):
    response = client.post("/language", data={"language": "sq", "next": "//evil.example/x"})
    assert response.status_code == 303
    assert response.headers["Location"] in ("/", "http://localhost/")


def test_an_unknown_language_is_refused_with_a_message(client):
    response = client.post("/language", data={"language": "xx"})
    assert response.status_code == 400
    assert "Choose one of the listed languages." in response.get_data(as_text=True)


def test_a_signed_in_users_choice_is_saved_in_the_profile(client, login, db):
    user = login()
    response = client.post("/language", data={"language": "sr-Cyrl", "next": "/"})
    assert response.status_code == 303
    db.session.refresh(user)
    assert user.preferred_language == "sr-Cyrl"
    # A new browser (no cookie), whatever it asks for: the profile wins.
    client.delete_cookie("lang")
    page = client.get("/", headers={"Accept-Language": "sq"})
    assert html_lang(page) == "sr-Cyrl"
    assert ">Моје пријаве</a>" in page.get_data(as_text=True)


def test_signing_up_keeps_the_language_of_the_page(client, db):
    client.post("/language", data={"language": "mk"})
    response = client.post(
        "/signup",
        data={
            "email": "ana@example.org",
            "full_name": "Ана Стојановска",
            "password": "a long enough password",
            "confirm": "a long enough password",
            "country": "MK",
            "institution": "Министерство",
            "position": "",
        },
    )
    assert response.status_code in (302, 303)
    from schoolmgr.auth.services import find_user_by_email

    assert find_user_by_email("ana@example.org").preferred_language == "mk"


@pytest.mark.parametrize(
    ("tag", "long_date", "range_same_month", "range_two_months"),
    [
        ("en", "13 February 2027", "14–18 September 2019", "28 September – 2 October 2020"),
        ("sq", "13 shkurt 2027", "14–18 shtator 2019", "28 shtator – 2 tetor 2020"),
        (
            "sr-Latn",
            "13. februar 2027.",
            "14–18. septembar 2019.",
            "28. septembar – 2. oktobar 2020.",
        ),
        ("cnr", "13. februar 2027.", "14–18. septembar 2019.", "28. septembar – 2. oktobar 2020."),
        (
            "sr-Cyrl",
            "13. фебруар 2027.",
            "14–18. септембар 2019.",
            "28. септембар – 2. октобар 2020.",
        ),
        (
            "mk",
            "13 февруари 2027\u202fг.",
            "14–18 септември 2019\u202fг.",
            "28 септември – 2 октомври 2020\u202fг.",
        ),
        ("hr", "13. veljače 2027.", "14.–18. rujna 2019.", "28. rujna – 2. listopada 2020."),
    ],
)
def test_dates_are_written_the_way_each_language_writes_them(
    app, tag, long_date, range_same_month, range_two_months
):
    with in_language(tag):
        assert fmt_date(date(2027, 2, 13)) == long_date
        assert fmt_date_range(date(2019, 9, 14), date(2019, 9, 18)) == range_same_month
        assert fmt_date_range(date(2020, 9, 28), date(2020, 10, 2)) == range_two_months


@pytest.mark.parametrize(
    ("tag", "count", "mean", "rate", "names"),
    [
        ("en", "1,234", "4.50", "12.5%", "Ana, Besa and Cvijeta"),
        ("sq", "1\u00a0234", "4,50", "12,5%", "Ana, Besa dhe Cvijeta"),
        ("hr", "1.234", "4,50", "12,5\u00a0%", "Ana, Besa i Cvijeta"),
        ("sr-Cyrl", "1.234", "4,50", "12,5%", "Ana, Besa и Cvijeta"),
        ("mk", "1.234", "4,50", "12,5\u00a0%", "Ana, Besa и Cvijeta"),
        ("cnr", "1.234", "4,50", "12,5%", "Ana, Besa i Cvijeta"),
    ],
)
def test_numbers_percentages_and_lists_are_written_the_way_each_language_writes_them(
    app, tag, count, mean, rate, names
):
    from schoolmgr.i18n import fmt_decimal, fmt_list, fmt_number, fmt_percent

    with in_language(tag):
        assert fmt_number(1234) == count
        assert fmt_decimal(4.5, 2) == mean
        assert fmt_percent(12.46, 1) == rate
        assert fmt_list(["Ana", "Besa", "Cvijeta"]) == names
        assert fmt_number(None) == fmt_percent(None) == "–"


def test_emails_go_out_in_the_recipients_language(app, db, outbox):
    from flask_babel import lazy_gettext as _l

    user = factories.UserFactory(preferred_language="sq", full_name="Arbër Çela")
    with force_locale("mk"):  # the staff member who triggers it reads Macedonian
        queue_email(
            user, "password_reset", _l("Reset your password"), user=user, reset_url="x", minutes=60
        )
    db.session.commit()
    from schoolmgr.mail import deliver_pending

    deliver_pending()
    message = message_from_bytes(bytes(outbox[-1]), policy=policy.default)
    assert message["Subject"] == "Vendosni një fjalëkalim të ri"
    assert message["To"] == user.email


def test_every_language_has_a_complete_catalogue_in_step_with_the_code(tmp_path):
    """`make translations` was run after the last change of a user-facing string, and every
    string is translated: no missing or untranslated entry, no fuzzy guess, no leftover, and
    every translation keeps the placeholders of its source."""
    template = catalogues.extract(tmp_path / "messages.pot")
    assert len(template) > 1000
    assert catalogues.problems(template, require_translated=True) == []


def test_every_language_of_the_menu_has_a_catalogue():
    assert {lang.babel_locale for lang in LANGUAGES if lang.tag != "en"} == set(catalogues.LOCALES)
    for locale in catalogues.LOCALES:
        assert catalogues.po_path(locale).exists()


def test_the_catalogue_check_names_what_is_wrong(tmp_path):
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    template = Catalog()
    template.add("Welcome, %(name)s.")
    template.add("Sign in")
    template.add(("%(num)d seat left", "%(num)d seats left"))
    template.add("Close")

    catalog = Catalog(locale="hr")
    catalog.add("Welcome, %(name)s.", "Dobro došli, %(ime)s.")  # placeholder translated
    catalog.add(
        ("%(num)d seat left", "%(num)d seats left"), ("%(num)d mjesto", "mjesta", "%(num)d mjesta")
    )
    catalog.add("Close", "Zatvori", flags=["fuzzy"])
    catalog.add("Gone", "Nema")  # no longer in the code
    path = catalogues.po_path("hr", tmp_path)
    path.parent.mkdir(parents=True)
    with path.open("wb") as f:
        write_po(f, catalog)

    found = [line for line in catalogues.problems(template, tmp_path) if line.startswith("hr:")]
    assert "hr: missing 'Sign in'" in found
    assert "hr: obsolete 'Gone'" in found
    assert "hr: fuzzy 'Close'" in found
    assert any("Dobro došli, %(ime)s." in line and "placeholders" in line for line in found)
    assert any("'mjesta'" in line and "placeholders" in line for line in found)
    assert len(found) == 5
    assert "sq: no catalogue (run `make translations`)" in catalogues.problems(template, tmp_path)


def test_one_request_keeps_its_language_apart_from_a_forced_one_for_an_email(app):
    """The catalogue a request found is kept for the request (i18n.gettext reads it in one
    lookup): a language forced inside it, for an email or a PDF, and back, must not leak."""
    from schoolmgr.i18n import get_locale, gettext, lazy_gettext, ngettext

    label = lazy_gettext("Editions")
    with app.test_request_context("/", headers={"Accept-Language": "sq"}):
        assert gettext("Editions") == str(label) == "Edicionet"
        with in_language("mk"):
            assert gettext("Editions") == str(label) == "Изданија"
            assert str(get_locale()) == "mk"
            with in_language("en"):
                assert gettext("Editions") == "Editions"
                assert ngettext("%(num)d seat left", "%(num)d seats left", 2) == "2 seats left"
            assert gettext("Editions") == "Изданија"
        assert gettext("Editions") == str(label) == "Edicionet"
        assert str(get_locale()) == "sq"
    with app.app_context():  # no request: a CLI command or a worker, in English
        assert gettext("Editions") == str(label) == "Editions"
