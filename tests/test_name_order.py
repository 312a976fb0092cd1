"""One order for people everywhere: family name, then given names, in a real alphabetical
order (C, Č, Ć, D, Đ ...; Cyrillic names grouped after the Latin ones), not code-point order."""

import csv
import io
import subprocess

import pytest

from schoolmgr.extensions import db
from schoolmgr.models import Role, User
from schoolmgr.text import collation_key, person_sort_key, sorted_people

# Given in a shuffled order; EXPECTED is the order every list must show.
NAMES = [
    "Ljubica Marković",
    "Јована Ђурић",
    "Đorđe Đurić",
    "Cvijeta Čolić",
    "Ana Colić",
    "Nina Ćirić",
    "Dragan Durić",
    "Јована Јовановић",
    "Ëndrit Hoxha",
]
EXPECTED = [
    "Ana Colić",
    "Cvijeta Čolić",
    "Nina Ćirić",
    "Dragan Durić",
    "Đorđe Đurić",
    "Ëndrit Hoxha",
    "Ljubica Marković",
    "Јована Ђурић",
    "Јована Јовановић",
]


def test_collation_is_alphabetical_not_code_point_order():
    assert sorted_people(NAMES, name=lambda n: n) == EXPECTED
    assert sorted(NAMES) != EXPECTED  # code-point order would differ
    # English (the default) has no Č or Đ letters: Čolić files under C.
    assert collation_key("Čolić") < collation_key("Cvijeta")
    assert collation_key("Čolić", "sr_Latn") > collation_key("Cvijeta", "sr_Latn")
    # Family name first: the given names only break ties.
    assert person_sort_key("Zoran Antić") < person_sort_key("Ana Babić")


def _order(text: str) -> list[str]:
    positions = {name: text.find(name) for name in EXPECTED}
    assert all(p >= 0 for p in positions.values()), positions
    return sorted(EXPECTED, key=positions.get)


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


def test_every_list_of_people_has_the_same_order(client, login, crowd, tmp_path):
    edition, session, trainer = crowd
    login(trainer)
    assert _order(client.get(f"/trainer/sessions/{session.id}").text) == EXPECTED
    sheet = tmp_path / "sheet.pdf"
    sheet.write_bytes(client.get(f"/trainer/sessions/{session.id}/sheet.pdf").data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(sheet), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert _order(text) == EXPECTED

    login(role=Role.STAFF)
    for url in (
        f"/staff/editions/{edition.slug}/registrations",
        f"/staff/editions/{edition.slug}/certificates",
        f"/staff/editions/{edition.slug}/attendance",
        "/staff/people/?role=participant",
    ):
        assert _order(client.get(url).text) == EXPECTED, url
    exported = client.get(f"/staff/editions/{edition.slug}/registrations/export.csv")
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:] if row and row[0] in EXPECTED] == EXPECTED


def test_renaming_someone_moves_them(client, login, crowd):
    edition, _session, _trainer = crowd
    user = db.session.scalar(db.select(User).filter_by(full_name="Ana Colić"))
    user.full_name = "Ana Žeravica"
    db.session.commit()
    login(role=Role.STAFF)
    html = client.get(f"/staff/editions/{edition.slug}/registrations").text
    assert html.find("Ljubica Marković") < html.find("Ana Žeravica") < html.find("Јована Ђурић")
