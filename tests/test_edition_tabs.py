"""Every staff page of an edition carries the same tabs (Programme · Registrations ·
Attendance · Certificates), with the counts that matter, the current one marked."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from schoolmgr.extensions import db
from schoolmgr.models import Certificate, Edition, Registration, Role, utcnow
from schoolmgr.navigation import EDITION_TABS
from tests.querycount import count_queries


class _Tabs(HTMLParser):
    """The links of the edition tabs: (text, href, current) as a browser would read them."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # inside <nav class="edition-tabs">
        self.tabs: list[list] = []
        self._in_link = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav" and "edition-tabs" in (attrs.get("class") or ""):
            self.depth = 1
        elif self.depth and tag == "nav":
            self.depth += 1
        if self.depth and tag == "a" and "nav-link" in (attrs.get("class") or ""):
            self.tabs.append(["", attrs["href"], attrs.get("aria-current") == "page"])
            self._in_link = True

    def handle_endtag(self, tag):
        if tag == "a":
            self._in_link = False
        if self.depth and tag == "nav":
            self.depth -= 1

    def handle_data(self, data):
        if self._in_link:
            self.tabs[-1][0] += data


def tabs_of(html: str) -> list[tuple[str, str, bool]]:
    parser = _Tabs()
    parser.feed(html)
    return [(" ".join(text.split()), href, current) for text, href, current in parser.tabs]


@pytest.fixture
def edition(make_edition, make_edition_module, make_session, make_registration):
    edition = make_edition(slug="gov-2026", title="Governance Čačak", capacity=30)
    em = make_edition_module(edition=edition)
    now = utcnow()
    make_session(edition_module=em, starts_at=now - timedelta(days=1, hours=2))
    make_session(edition_module=em, starts_at=now + timedelta(days=1))
    make_session(edition_module=em, starts_at=now + timedelta(days=2))
    for _ in range(3):
        make_registration(edition=edition)
    return edition


def staff_pages(edition):
    return {
        f"/staff/editions/{edition.slug}": "Programme",
        f"/staff/editions/{edition.slug}/schedule": "Programme",
        f"/staff/editions/{edition.slug}/edit": "Programme",
        f"/staff/editions/{edition.slug}/registrations": "Registrations",
        f"/staff/editions/{edition.slug}/registrations/overview": "Registrations",
        f"/staff/editions/{edition.slug}/registrations/capacity": "Registrations",
        f"/staff/editions/{edition.slug}/attendance": "Attendance",
        f"/staff/editions/{edition.slug}/certificates": "Certificates",
        f"/staff/editions/{edition.slug}/certificates/issued": "Certificates",
        f"/staff/editions/{edition.slug}/evaluations": "Evaluations",
        f"/staff/editions/{edition.slug}/announcements": "Announcements",
        f"/staff/editions/{edition.slug}/announcements/new": "Announcements",
        f"/staff/editions/{edition.slug}/letters": "Invitation",
    }


def test_every_staff_edition_page_has_the_same_tabs_with_counts(client, login, edition):
    login(role=Role.STAFF)
    expected = [
        ("Programme 3 (1 module, 3 sessions)", f"/staff/editions/{edition.slug}"),
        (
            "Registrations 3/30 (3 accepted of 30 seats)",
            f"/staff/editions/{edition.slug}/registrations",
        ),
        ("Attendance 1/3 (1 of 3 sessions held)", f"/staff/editions/{edition.slug}/attendance"),
        ("Certificates 0 (0 certificates issued)", f"/staff/editions/{edition.slug}/certificates"),
        ("Evaluations", f"/staff/editions/{edition.slug}/evaluations"),
        ("Announcements", f"/staff/editions/{edition.slug}/announcements"),
        ("Invitation letters", f"/staff/editions/{edition.slug}/letters"),
    ]
    for url, current in staff_pages(edition).items():
        response = client.get(url)
        assert response.status_code == 200, url
        tabs = tabs_of(response.text)
        assert [(text, href) for text, href, _ in tabs] == expected, url
        assert [text.split()[0] for text, _, is_current in tabs if is_current] == [current], url


@pytest.mark.parametrize(
    "language, capacity, registrations",
    [
        ("en", "2,500", "Registrations 3/2,500 (3 accepted of 2,500 seats)"),
        ("bs", "2.500", "Prijave 3/2.500 (Primljeno: 3, mjesta: 2.500)"),
        # A no-break space groups the thousands; tabs_of reads it as a space.
        ("sq", "2\xa0500", "Regjistrimet 3/2 500 (3 të pranuar nga 2 500 vende)"),
    ],
)
def test_a_tab_writes_large_counts_as_the_language_groups_digits(
    client, login, edition, language, capacity, registrations
):
    """A webinar for the whole region: its badge and what a screen reader hears both group."""
    edition.capacity = 2500
    db.session.commit()
    staff = login(role=Role.STAFF)
    staff.preferred_language = language
    db.session.commit()

    page = client.get(f"/staff/editions/{edition.slug}/registrations").text

    assert tabs_of(page)[1][0] == registrations
    # The counts above the list say the same.
    assert re.search(r"<strong>([^<]+)</strong> · ", page).group(1) == capacity


def test_registrations_keep_their_own_sub_tabs_under_the_registrations_tab(client, login, edition):
    login(role=Role.STAFF)
    html = client.get(f"/staff/editions/{edition.slug}/registrations/overview").text
    for link in ("registrations/export.csv", "registrations/export.xlsx", "registrations/capacity"):
        assert f"/staff/editions/{edition.slug}/{link}" in html


def test_tabs_are_one_list_a_new_area_extends_with_one_line():
    assert [str(tab.label) for tab in EDITION_TABS][:4] == [
        "Programme",
        "Registrations",
        "Attendance",
        "Certificates",
    ]


def test_trainer_pages_do_not_show_staff_tabs(client, login, make_user, edition):
    trainer = make_user(role=Role.TRAINER)
    em = edition.edition_modules[0]
    em.trainers.append(trainer)
    db.session.commit()
    login(trainer)
    html = client.get(f"/trainer/modules/{em.id}/attendance").text
    assert tabs_of(html) == []


def test_tab_counts_follow_changes_between_two_pages(
    client, login, edition, make_session, make_registration
):
    """Counts are kept for one request only: the next page shows the new session and seat."""
    login(role=Role.STAFF)
    url = f"/staff/editions/{edition.slug}/registrations"
    before = [text for text, _, _ in tabs_of(client.get(url).text)]
    assert before[0].startswith("Programme 3 ") and before[1].startswith("Registrations 3/30 ")
    make_session(edition_module=edition.edition_modules[0], starts_at=utcnow() + timedelta(days=3))
    make_registration(edition=edition)
    after = [text for text, _, _ in tabs_of(client.get(url).text)]
    assert after[0].startswith("Programme 4 ") and after[1].startswith("Registrations 4/30 ")


def test_registrations_page_counts_statuses_once_for_itself_and_its_tab(client, login, edition):
    login(role=Role.STAFF)
    with count_queries() as queries:
        html = client.get(f"/staff/editions/{edition.slug}/registrations").text
    assert "3/30" in html
    grouped = [s for s in queries.statements if "GROUP BY registrations.status" in s]
    assert len(grouped) == 1, queries


def test_certificates_tab_counts_the_certificates_in_force_of_this_edition_only(
    client, login, edition, make_registration, make_edition
):
    def certificate(registration, n, **state):
        made = Certificate(
            registration=registration,
            serial=f"TAB-{n}",
            verification_code=f"TAB{n:017d}",
            snapshot={},
            pdf_name=f"tab-{n}.pdf",
            sha256="0" * 64,
            **state,
        )
        db.session.add(made)
        return made

    this = db.session.scalar(db.select(Edition).where(Edition.slug == "gov-2026"))
    mine = db.session.scalars(db.select(Registration).where(Registration.edition_id == this.id))
    first, second, third = mine
    certificate(first, 1)
    certificate(second, 2, revoked_at=utcnow())
    certificate(third, 3, superseded_at=utcnow())
    certificate(third, 4)
    certificate(make_registration(edition=make_edition()), 5)
    db.session.commit()
    certificates = list(db.session.scalars(db.select(Certificate)))
    assert [c.edition_id == c.registration.edition_id for c in certificates] == [True] * 5
    assert [c.serial for c in certificates if c.edition_id != this.id] == ["TAB-5"]
    login(role=Role.STAFF)
    tabs = tabs_of(client.get(f"/staff/editions/{this.slug}/certificates").text)
    assert (
        "Certificates 2 (2 certificates issued)",
        f"/staff/editions/{this.slug}/certificates",
    ) in [(text, href) for text, href, _ in tabs]
