"""The public pages: what a visitor sees of the school's editions and modules."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from freezegun import freeze_time

from schoolmgr.models import EditionFormat, EditionStatus, RegistrationStatus, Role, utcnow


def test_home_lists_open_editions_before_past_ones_with_seats_left(
    client, make_edition, make_registration
):
    past = make_edition(title="Seasonal School on Digital Transformation", past=True)
    make_edition(
        title="Networking Evening",
        start_date=utcnow().date() + timedelta(days=90),
        end_date=utcnow().date() + timedelta(days=90),
        registration_opens_at=utcnow() + timedelta(days=30),
    )
    open_now = make_edition(title="Rapid Innovation Lab", capacity=12, format=EditionFormat.ONLINE)
    for _ in range(3):
        make_registration(edition=open_now, status=RegistrationStatus.ACCEPTED)
    make_registration(edition=open_now, status=RegistrationStatus.PENDING)

    page = client.get("/").text

    upcoming, past_section = page.split("Past editions")
    assert upcoming.index("Rapid Innovation Lab") < upcoming.index("Networking Evening")
    assert "9 seats left" in upcoming
    assert "Registration open" in upcoming
    assert "Online" in upcoming
    assert past.title in past_section
    assert "16–20 September 2019" in past_section


@pytest.mark.parametrize(
    "language, seats_left",
    [
        ("en", "2,500 seats left"),
        ("bs", "2.500 slobodnih mjesta"),
        ("sq", "Kanë mbetur 2\xa0500 vende"),
    ],
)
def test_a_large_count_is_grouped_as_the_language_writes_it(
    client, make_edition, language, seats_left
):
    """An open webinar for the whole region: its seats are counted as the reader writes numbers."""
    make_edition(title="Crisis Communication Webinar", capacity=2500, format=EditionFormat.ONLINE)

    page = client.get("/", headers={"Accept-Language": language}).text

    assert seats_left in page


def test_an_edition_ends_at_midnight_where_the_school_is(client, make_edition):
    """At 23:30 UTC on its last day, Belgrade is on the next one: the edition is past."""
    make_edition(
        title="Crisis Communication Webinar",
        start_date=date(2026, 11, 30),
        end_date=date(2026, 11, 30),
        registration_opens_at=datetime(2026, 11, 1, tzinfo=UTC),
        registration_closes_at=datetime(2026, 11, 29, tzinfo=UTC),
    )

    with freeze_time(datetime(2026, 11, 30, 22, 30, tzinfo=UTC)):
        evening = client.get("/").text
    with freeze_time(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)):
        after_midnight = client.get("/").text

    assert "Crisis Communication Webinar" in evening.split("Past editions")[0]
    assert "Crisis Communication Webinar" in after_midnight.split("Past editions")[1]


def test_home_pages_through_past_editions_newest_first_with_an_archived_ones_seats(
    client, monkeypatch, make_edition, make_registration
):
    from datetime import UTC, date, datetime

    from schoolmgr.public import services

    monkeypatch.setattr(services, "PAST_PER_PAGE", 2)
    for year in (2019, 2020, 2021):
        make_edition(
            title=f"Human Ware {year}",
            start_date=date(year, 9, 14),
            end_date=date(year, 9, 18),
            registration_opens_at=datetime(year, 1, 1, tzinfo=UTC),
            registration_closes_at=datetime(year, 9, 1, tzinfo=UTC),
        )
    # Archived before its end: past, though it still has seats to show.
    closed_early = make_edition(
        title="Remote Teams Lab",
        capacity=10,
        status=EditionStatus.ARCHIVED,
        start_date=utcnow().date() + timedelta(days=10),
        end_date=utcnow().date() + timedelta(days=12),
    )
    make_registration(edition=closed_early, status=RegistrationStatus.ACCEPTED)

    pages = [client.get(f"/?page={n}") for n in (1, 2, 3)]

    assert [p.status_code for p in pages[:2]] == [200, 200]
    assert pages[2].status_code == 404
    past = [p.text.split("Past editions")[1] for p in pages[:2]]
    shown = [[t for t in ("Remote Teams Lab", "2021", "2020", "2019") if t in p] for p in past]
    assert shown == [["Remote Teams Lab", "2021"], ["2020", "2019"]]
    assert "9 seats left" in past[0]
    assert "1–2 of 4" in past[0] and "3–4 of 4" in past[1]


def test_home_hides_drafts_and_says_when_nothing_is_announced(client, make_edition):
    make_edition(title="Secret Hackathon", draft=True)

    page = client.get("/").text

    assert "Secret Hackathon" not in page
    assert "No upcoming editions are announced yet" in page


def test_full_edition_says_the_waiting_list_is_next(client, make_edition, make_registration):
    edition = make_edition(capacity=1)
    make_registration(edition=edition, status=RegistrationStatus.ACCEPTED)

    assert "Fully booked" in client.get("/").text
    assert "Fully booked" in client.get(f"/editions/{edition.slug}").text


def test_edition_page_shows_programme_trainers_and_schedule_by_day(
    client, make_edition, make_edition_module, make_session, make_user
):
    edition = make_edition(
        title="Seasonal School on Rapid Innovation Lab 2020", timezone="Europe/Belgrade"
    )
    trainer = make_user(role=Role.TRAINER, full_name="Maja Kovačević")
    agile = make_edition_module(edition=edition, module__name="Agile", trainers=[trainer])
    make_session(edition_module=agile)

    page = client.get(f"/editions/{edition.slug}").text

    assert "Seasonal School on Rapid Innovation Lab 2020" in page
    assert "Agile" in page and "Maja Kovačević" in page
    assert "09:30–12:30" in page  # shown in the edition's own time zone
    assert "Sign in to register" in page


def test_signed_in_participant_sees_own_registration_status(client, login, make_registration):
    registration = make_registration(status=RegistrationStatus.WAITLISTED, waitlist_position=2)
    login(registration.user)

    page = client.get(f"/editions/{registration.edition.slug}").text

    assert "Waiting list" in page
    assert "Position 2 on the waiting list" in page


def test_closed_registration_is_explained(client, make_edition):
    edition = make_edition(registration_closes_at=utcnow() - timedelta(hours=1))

    assert "Registration is closed" in client.get(f"/editions/{edition.slug}").text


def test_registration_not_yet_open_shows_when_it_opens(client, make_edition):
    edition = make_edition(registration_opens_at=utcnow() + timedelta(days=3))

    assert "Registration opens on" in client.get(f"/editions/{edition.slug}").text


@pytest.mark.parametrize(
    ("role", "expected"),
    [(None, 404), (Role.PARTICIPANT, 404), (Role.TRAINER, 404), (Role.STAFF, 200)],
)
def test_draft_edition_is_a_preview_for_staff_only(client, login, make_edition, role, expected):
    edition = make_edition(status=EditionStatus.DRAFT)
    if role:
        login(role=role)

    response = client.get(f"/editions/{edition.slug}")

    assert response.status_code == expected
    if expected == 200:
        assert "Preview" in response.text


def test_unknown_edition_gets_the_404_page(client):
    response = client.get("/editions/no-such-edition")

    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Back to the home page" in response.text


def test_module_catalogue_lists_active_modules_only(client, make_module):
    make_module(name="Crisis Communication", slug="crisis-communication")
    make_module(name="Old Module", retired_at=utcnow())

    page = client.get("/modules").text

    assert "Crisis Communication" in page
    assert "Old Module" not in page


def test_module_page_lists_the_editions_that_offered_it(
    client, make_module, make_edition_module, make_edition
):
    agile = make_module(name="Agile", slug="agile")
    make_edition_module(
        module=agile, edition=make_edition(title="Rapid Innovation Lab 2020", past=True)
    )
    make_edition_module(module=agile, edition=make_edition(title="Hidden draft", draft=True))

    page = client.get("/modules/agile").text

    assert "Rapid Innovation Lab 2020" in page
    assert "Hidden draft" not in page
    assert client.get("/modules/unknown").status_code == 404


def test_navigation_depends_on_role(client, login):
    anonymous = client.get("/").text
    assert "Sign in" in anonymous and "Create account" in anonymous

    login(role=Role.STAFF)
    staff = client.get("/").text
    assert "Sign out" in staff and "Programme staff" in staff


def main_navigation(page: str) -> list[str]:
    """The main menu's entries as shown, the current page's marked with a star."""
    menu = re.search(r'<ul class="navbar-nav me-auto">(.*?)</ul>', page, re.S).group(1)
    links = re.findall(r'<a class="nav-link[^"]*"[^>]*?( aria-current="page")?>([^<]+)</a>', menu)
    return [label + ("*" if current else "") for current, label in links]


def test_the_main_menu_follows_each_visit_role_page_and_language(client, login):
    """Each worker builds a menu once for a role, page and language: one visitor's menu
    never shows up on another's visit."""
    assert main_navigation(client.get("/").text) == ["Editions*", "Modules", "Verify a certificate"]
    assert main_navigation(client.get("/modules").text) == [
        "Editions",
        "Modules*",
        "Verify a certificate",
    ]
    albanian = client.get("/modules", headers={"Accept-Language": "sq"}).text
    assert main_navigation(albanian)[:2] == ["Edicionet", "Modulet*"]

    login(role=Role.PARTICIPANT)
    participant = main_navigation(client.get("/").text)
    assert participant[:3] == ["Editions*", "Modules", "My registrations"]
    assert "Programme" not in participant

    login(role=Role.STAFF)
    staff = main_navigation(client.get("/modules").text)
    assert {"Modules*", "Programme", "People", "Reports"} <= set(staff)
    assert "My registrations" not in staff


def test_series_page_is_paginated_newest_first(client, monkeypatch, make_edition):
    from datetime import UTC, date, datetime

    from schoolmgr.public import series

    monkeypatch.setattr(series, "SERIES_PER_PAGE", 2)
    for year in (2019, 2021, 2023, 2025, 2027):
        make_edition(
            series="digital-transformation",
            title=f"Digital Transformation {year}",
            start_date=date(year, 6, 1),
            end_date=date(year, 6, 5),
            registration_opens_at=datetime(year - 1, 1, 1, tzinfo=UTC),
            registration_closes_at=datetime(year, 5, 1, tzinfo=UTC),
        )

    pages = [client.get(f"/series/digital-transformation?page={n}") for n in (1, 2, 3)]

    assert [p.status_code for p in pages] == [200, 200, 200]
    shown = [
        [y for y in (2027, 2025, 2023, 2021, 2019) if f"Transformation {y}<" in p.text]
        for p in pages
    ]
    assert shown == [[2027, 2025], [2023, 2021], [2019]]
    for page in pages:
        # The school's name, the count and the first year are the whole series', on every page.
        assert '<h1 class="h2">Digital Transformation</h1>' in page.text
        assert "5 editions since 2019" in page.text
    assert 'href="/series/digital-transformation?page=2"' in pages[0].text
    assert client.get("/series/digital-transformation?page=4").status_code == 404
