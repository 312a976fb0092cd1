"""People are ordered by family name, then given names, in the alphabet of the page's language
(a real collation, not code-point order), on every list of people."""

import csv
import io
import subprocess

import pytest

from schoolmgr.extensions import db
from schoolmgr.models import Role, User
from schoolmgr.text import NAME_COLLATIONS, collation_key, person_sort_key, sorted_people

# Given in a shuffled order; ORDERS holds the order each page language must show.
NAMES = [
    "Ljubo Ljubić",
    "Besa Çela",
    "Ђорђе Ђурић",
    "Arben Duka",
    "Cvijeta Čolić",
    "Горан Ѓорѓиев",
    "Ana Cvetković",
    "Drita Dhima",
    "Edin Džeko",
    "Ivo Lukić",
    "Марко Гаши",
    "Nina Ćirić",
]
LATIN_SLAVIC = [  # C, Č, Ć, D, Dž, Đ, L, Lj: Ç is a C with a mark, Dh is D then h
    "Besa Çela",
    "Ana Cvetković",
    "Cvijeta Čolić",
    "Nina Ćirić",
    "Drita Dhima",
    "Arben Duka",
    "Edin Džeko",
    "Ivo Lukić",
    "Ljubo Ljubić",
    "Марко Гаши",
    "Горан Ѓорѓиев",
    "Ђорђе Ђурић",
]
LATIN_AFTER_CYRILLIC = [  # in Macedonian and Serbian Cyrillic, the English order of Latin
    "Besa Çela",
    "Nina Ćirić",
    "Cvijeta Čolić",
    "Ana Cvetković",
    "Drita Dhima",
    "Arben Duka",
    "Edin Džeko",
    "Ljubo Ljubić",
    "Ivo Lukić",
]
ORDERS = {
    # English has no Č, Ć, Dž or Lj letters: marks only break ties; Cyrillic after Latin.
    "en": [
        "Besa Çela",
        "Nina Ćirić",
        "Cvijeta Čolić",
        "Ana Cvetković",
        "Drita Dhima",
        "Arben Duka",
        "Edin Džeko",
        "Ljubo Ljubić",
        "Ivo Lukić",
        "Марко Гаши",
        "Горан Ѓорѓиев",
        "Ђорђе Ђурић",
    ],
    # Albanian: Ç after C, Dh after D.
    "sq": [
        "Nina Ćirić",
        "Cvijeta Čolić",
        "Ana Cvetković",
        "Besa Çela",
        "Arben Duka",
        "Edin Džeko",
        "Drita Dhima",
        "Ljubo Ljubić",
        "Ivo Lukić",
        "Марко Гаши",
        "Горан Ѓорѓиев",
        "Ђорђе Ђурић",
    ],
    "bs": LATIN_SLAVIC,
    "hr": LATIN_SLAVIC,
    "cnr": LATIN_SLAVIC,
    "sr-Latn": LATIN_SLAVIC,
    # Cyrillic first: Macedonian Ѓ after Д, Serbian (which has no Ѓ) after Г; Latin after.
    "mk": ["Марко Гаши", "Ђорђе Ђурић", "Горан Ѓорѓиев", *LATIN_AFTER_CYRILLIC],
    "sr-Cyrl": ["Марко Гаши", "Горан Ѓорѓиев", "Ђорђе Ђурић", *LATIN_AFTER_CYRILLIC],
}


def test_collation_is_alphabetical_not_code_point_order():
    for language, expected in ORDERS.items():
        assert sorted_people(NAMES, name=lambda n: n, locale=NAME_COLLATIONS[language]) == expected
    assert sorted(NAMES) not in ORDERS.values()  # code-point order is none of them
    assert collation_key("Čolić") < collation_key("Cvijeta")
    assert collation_key("Čolić", "sr_Latn") > collation_key("Cvijeta", "sr_Latn")
    # Family name first: the given names only break ties.
    assert person_sort_key("Zoran Antić", "en") < person_sort_key("Ana Babić", "en")


def _order(text: str, expected: list[str]) -> list[str]:
    positions = {name: text.find(name) for name in expected}
    assert all(p >= 0 for p in positions.values()), positions
    return sorted(expected, key=positions.get)


@pytest.fixture
def crowd(make_edition, make_edition_module, make_session, make_registration, make_user):
    edition = make_edition(slug="order-2026", capacity=50)
    trainer = make_user(role=Role.TRAINER, full_name="Trainer Zed")
    em = make_edition_module(edition=edition, trainers=[trainer])
    session = make_session(edition_module=em)
    for name in NAMES:
        make_registration(edition=edition, user__full_name=name)
    db.session.commit()
    return edition, session, trainer


@pytest.mark.parametrize("language", ["en", "sq", "hr", "mk", "sr-Cyrl"])
def test_every_list_of_people_is_in_the_order_of_the_page_language(
    client, login, crowd, tmp_path, language
):
    edition, session, trainer = crowd
    expected = ORDERS[language]
    trainer.preferred_language = language
    db.session.commit()
    login(trainer)
    assert _order(client.get(f"/trainer/sessions/{session.id}").text, expected) == expected
    sheet = tmp_path / "sheet.pdf"
    sheet.write_bytes(client.get(f"/trainer/sessions/{session.id}/sheet.pdf").data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(sheet), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert _order(text, expected) == expected

    staff = login(role=Role.STAFF)
    staff.preferred_language = language
    db.session.commit()
    for url in (
        f"/staff/editions/{edition.slug}/registrations",
        f"/staff/editions/{edition.slug}/certificates",
        f"/staff/editions/{edition.slug}/attendance",
        "/staff/people/?role=participant",
    ):
        assert _order(client.get(url).text, expected) == expected, url
    exported = client.get(f"/staff/editions/{edition.slug}/registrations/export.csv")
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:] if row and row[0] in expected] == expected


def test_renaming_someone_moves_them(client, login, crowd):
    edition, _session, _trainer = crowd
    user = db.session.scalar(db.select(User).filter_by(full_name="Ana Cvetković"))
    user.full_name = "Ana Žeravica"
    db.session.commit()
    staff = login(role=Role.STAFF)
    staff.preferred_language = "hr"
    db.session.commit()
    html = client.get(f"/staff/editions/{edition.slug}/registrations").text
    assert html.find("Ljubo Ljubić") < html.find("Ana Žeravica") < html.find("Марко Гаши")
