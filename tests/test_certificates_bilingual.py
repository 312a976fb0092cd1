"""Bilingual certificates: English and the participant's (or the edition's) language on one page.

The regional catalogues are being translated while this is written, so the tests give the second
language's phrases through a small test catalogue (`catalogue` fixture) and compute what they
expect with `in_language(tag)` + gettext, the way the certificate does; names are asserted
exactly, as `pdftotext` extracts them.
"""

import io
import re
import subprocess
from datetime import date

import pytest
import sqlalchemy as sa
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import Translations
from flask_babel import get_domain
from flask_babel import gettext as _

from schoolmgr.certificates import files, issuing, rendering, snapshot
from schoolmgr.i18n import babel_locale, in_language
from schoolmgr.models import AttendanceStatus, Edition, Role
from schoolmgr.timeutils import fmt_date, fmt_date_range, local
from tests import factories

TEST_PHRASES = {
    "mk": {
        "Certificate of Attendance": "Потврда за присуство",
        "This is to certify that": "Со ова се потврдува дека",
        "attended the": "присуствуваше на",
        "Seasonal school": "Сезонско училиште",
        "Module": "Модул",
        "Hours": "Часови",
        "Issued on %(date)s": "Издадено на %(date)s",
        "Serial number": "Сериски број",
        "Verify at": "Проверете на",
    },
    "sq": {
        "Certificate of Attendance": "Certifikatë pjesëmarrjeje",
        "This is to certify that": "Vërtetohet se",
        "attended the": "ndoqi",
        "Seasonal school": "Shkollë sezonale",
        "Module": "Moduli",
        "Hours": "Orë",
        "Issued on %(date)s": "Lëshuar më %(date)s",
        "Serial number": "Numri serik",
        "Verify at": "Verifikoni në",
    },
}
PHRASES = list(TEST_PHRASES["mk"])


@pytest.fixture
def catalogue(app, monkeypatch):
    """Macedonian and Albanian catalogues with the certificate's phrases, for this test only."""
    domain = get_domain()
    for tag, phrases in TEST_PHRASES.items():
        catalog = Catalog(locale=babel_locale(tag))
        for msgid, text in phrases.items():
            catalog.add(msgid, text)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        monkeypatch.setitem(
            domain.cache, (babel_locale(tag), domain.domain[0]), Translations(buffer)
        )


def pdf_text(content: bytes) -> str:
    """The PDF's text as pdftotext reads it, whitespace collapsed."""
    out = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return " ".join(out.split())


def pdf_pages(content: bytes) -> int:
    info = subprocess.run(["pdfinfo", "-"], input=content, capture_output=True, check=True)
    return int(re.search(r"Pages:\s+(\d+)", info.stdout.decode()).group(1))


def expected_in(tag: str, edition: Edition, issued_on: date) -> list[str]:
    """What the certificate must say in language `tag`, computed as the certificate does
    (whitespace collapsed like `pdf_text`: CLDR writes "2027 г." with a narrow space)."""
    with in_language(tag):
        phrases = [
            _("Certificate of Attendance").upper(),  # set in capitals
            _("This is to certify that"),
            f"{_('attended the')} {_('Seasonal school').lower()}",
            _("Module").upper(),
            _("Hours").upper(),
            _("Issued on %(date)s", date=fmt_date(issued_on)),
            _("Serial number"),
            fmt_date_range(edition.start_date, edition.end_date),
        ]
    return [" ".join(phrase.split()) for phrase in phrases]


def make_edition(certificate_language: str, modules: int = 1) -> Edition:
    """A past edition of `modules` modules, one session each."""
    edition = factories.EditionFactory(past=True, title="Seasonal School on Digital Transformation")
    edition.certificate_language = certificate_language
    for i in range(modules):
        em = factories.EditionModuleFactory(
            edition=edition, module=factories.ModuleFactory(name=f"Module number {i + 1}")
        )
        factories.SessionFactory(edition_module=em)
    factories.db.session.commit()
    return edition


def attended(edition: Edition, name: str, language: str):
    registration = factories.RegistrationFactory(
        edition=edition, user__full_name=name, user__preferred_language=language
    )
    for em in edition.edition_modules:
        for session in em.sessions:
            factories.AttendanceFactory(
                session=session, registration=registration, status=AttendanceStatus.PRESENT
            )
    factories.db.session.commit()
    return registration


@pytest.mark.parametrize(
    ("language", "name"),
    [("mk", "Ѓорѓи Ќосе Ѕвездановски"), ("sq", "Ëndrit Çela")],
)
def test_a_bilingual_certificate_speaks_english_and_the_participants_language(
    catalogue, language, name
):
    edition = make_edition("participant")
    registration = attended(edition, name, language)

    certificate, created = issuing.issue_for_registration(registration, None)

    assert created
    assert certificate.snapshot["languages"] == ["en", language]
    text = pdf_text(files.pdf_path(certificate).read_bytes())
    assert name in text
    issued_on = local(certificate.issued_at, edition.tz).date()
    english = expected_in("en", edition, issued_on)
    second = expected_in(language, edition, issued_on)
    # The test catalogue is in use: the second language is not English in disguise.
    assert second[0] == TEST_PHRASES[language]["Certificate of Attendance"].upper()
    for phrase in english + second:
        assert phrase in text, phrase


def test_serbian_cyrillic_names_and_the_editions_own_second_language(app):
    """English and one language for the whole edition, whatever each participant reads."""
    edition = make_edition("sr-Cyrl")
    registration = attended(edition, "Ђорђе Љубичић", "sq")

    certificate, _created = issuing.issue_for_registration(registration, None)

    assert certificate.snapshot["languages"] == ["en", "sr-Cyrl"]
    text = pdf_text(files.pdf_path(certificate).read_bytes())
    assert "Ђорђе Љубичић" in text
    issued_on = local(certificate.issued_at, edition.tz).date()
    for phrase in expected_in("sr-Cyrl", edition, issued_on):
        assert phrase in text, phrase


@pytest.mark.parametrize(
    ("choice", "preferred", "languages"),
    [
        ("en", "mk", ["en"]),
        ("participant", "en", ["en"]),
        ("participant", "xx", ["en"]),
        ("participant", "cnr", ["en", "cnr"]),
        ("hr", "mk", ["en", "hr"]),
    ],
)
def test_which_languages_a_certificate_is_in(app, choice, preferred, languages):
    edition = factories.EditionFactory(certificate_language=choice)
    user = factories.UserFactory(preferred_language=preferred)
    assert snapshot.certificate_languages(edition, user) == languages


def test_an_english_only_certificate_has_no_second_language(catalogue):
    edition = make_edition("en")
    registration = attended(edition, "Đorđe Čolić", "mk")

    certificate, _created = issuing.issue_for_registration(registration, None)

    assert certificate.snapshot["languages"] == ["en"]
    assert certificate.snapshot["second"] is None
    text = pdf_text(files.pdf_path(certificate).read_bytes())
    assert "Đorđe Čolić" in text
    assert "CERTIFICATE OF ATTENDANCE" in text
    assert TEST_PHRASES["mk"]["This is to certify that"] not in text


def twelve_modules(language: str | None) -> dict:
    snapshot = {
        **rendering.SAMPLE_SNAPSHOT,
        "name": "Ѓорѓи Ќосе Ѕвездановски",
        "modules": [
            {"name": f"Human-Centered Change Management, part {i}", "hours": 3.0}
            for i in range(1, 13)
        ],
        "total_hours": 36.0,
        "attendance_percent": 92,
        "signatories": [
            {"name": "Jelena Marković", "title": "Programme Manager", "signature": ""},
            {"name": "Arben Krasniqi", "title": "Director", "signature": ""},
        ],
    }
    if language:
        with in_language(language):
            snapshot["second"] = {
                "language": language,
                "kind": _("Seasonal school"),
                "format": _("In person"),
                "place": "Budva, Montenegro",
                "dates": fmt_date_range(date(2019, 9, 16), date(2019, 9, 20)),
                "issued_on_text": fmt_date(date(2019, 9, 20)),
            }
        snapshot["languages"] = ["en", language]
    return snapshot


# The certificate's content box (.content in certificate.css) ends 163 mm from the top of the
# page (9 mm margin, 2.2 + 1.4 mm frame, 0.5 mm border, 7 mm padding, 143 mm box): anything
# below is clipped away.
CONTENT_BOTTOM_PT = 163 / 25.4 * 72


@pytest.mark.parametrize("language", [None, "mk", "sq"])
def test_twelve_modules_fit_on_one_a4_landscape_page(catalogue, tmp_path, language):
    content = rendering.render_certificate(twelve_modules(language))
    assert pdf_pages(content) == 1
    text = pdf_text(content)
    for i in range(1, 13):
        assert f"Human-Centered Change Management, part {i}" in text
    (tmp_path / "c.pdf").write_bytes(content)
    bbox = subprocess.run(
        ["pdftotext", "-bbox", str(tmp_path / "c.pdf"), "-"], capture_output=True, check=True
    ).stdout.decode()
    words = re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>', bbox)
    bottoms = [float(y_max) for _y_min, y_max, word in words if word in ("36", "92%")]
    assert bottoms, "the total row is printed"
    assert max(bottoms) < CONTENT_BOTTOM_PT


def test_verify_shows_the_languages_of_the_certificate(client, catalogue):
    edition = make_edition("participant")
    registration = attended(edition, "Ѓорѓи Ќосе Ѕвездановски", "mk")
    certificate, _created = issuing.issue_for_registration(registration, None)
    code = certificate.verification_code

    assert client.get(f"/verify/{code}.json").get_json()["languages"] == ["en", "mk"]
    page = client.get(f"/verify/{code}").get_data(as_text=True)
    assert re.search(r'<span lang="en">English</span>, <span lang="mk">македонски</span>', page)


def test_staff_choose_the_certificate_language_on_the_edition_form(client, login, db):
    from tests.test_programme_routes import edition_form

    login(role=Role.STAFF)
    response = client.post(
        "/staff/editions/new", data=edition_form(certificate_language="participant")
    )
    assert response.status_code in (302, 303)
    edition = db.session.scalar(sa.select(Edition))
    assert edition.certificate_language == "participant"

    page = client.get(f"/staff/editions/{edition.slug}/edit").get_data(as_text=True)
    assert '<option selected value="participant">' in page or (
        'value="participant" selected' in page
    )
    assert "English and македонски" in page

    response = client.post(
        f"/staff/editions/{edition.slug}/edit", data=edition_form(certificate_language="de")
    )
    assert response.status_code == 400
    db.session.refresh(edition)
    assert edition.certificate_language == "participant"
