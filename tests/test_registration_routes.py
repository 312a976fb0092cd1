"""Registration pages as participants and staff use them."""

import csv
import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from schoolmgr.models import (
    Country,
    OutboundEmail,
    Registration,
    RegistrationStatus,
    utcnow,
)
from tests.querycount import count_queries

FORM = {
    "country": "RS",
    "institution": "Министарство државне управе",
    "position": "Head of Unit",
    "motivation": "To bring agile methods home.",
    "needs": "",
    "consent": "y",
}


def registrations(db, edition=None):
    query = sa.select(Registration).order_by(Registration.id)
    if edition is not None:
        query = query.where(Registration.edition_id == edition.id)
    return db.session.scalars(query).all()


# --- participant side -----------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_sign_in(client, make_edition):
    edition = make_edition()
    response = client.get(f"/editions/{edition.slug}/register")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_participant_registers_and_gets_a_confirmed_seat_and_an_email(
    client, login, db, make_edition, outbox
):
    edition = make_edition(title="Seasonal School on Agile")
    user = login()
    page = client.get(f"/editions/{edition.slug}/register")
    assert page.status_code == 200
    assert user.institution in page.text  # prefilled from the profile
    response = client.post(f"/editions/{edition.slug}/register", data=FORM)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/me/registrations")
    (registration,) = registrations(db)
    assert registration.status == RegistrationStatus.ACCEPTED
    db.session.refresh(user)
    assert user.institution == "Министарство државне управе"
    assert [m["To"] for m in outbox] == [user.email]
    assert "Seasonal School on Agile" in outbox[0]["Subject"]
    dashboard = client.get("/me/registrations")
    assert "Seasonal School on Agile" in dashboard.text
    assert "Accepted" in dashboard.text


def test_full_edition_shows_the_waiting_list_position(
    client, login, db, make_edition, make_registration
):
    edition = make_edition(capacity=1)
    make_registration(edition=edition)
    login()
    response = client.post(f"/editions/{edition.slug}/register", data=FORM, follow_redirects=True)
    assert "number 1 on the waiting list" in response.text
    assert "Position 1 on the waiting list" in response.text
    # A place in the queue is news, not a success: the neutral (info) alert says it.
    alert = re.search(r'<div class="alert alert-(\w+)[^>]*>\s*([^<]*)', response.text)
    assert alert.group(1) == "info"
    assert "number 1 on the waiting list" in alert.group(2)


def test_registration_form_names_the_module_choice_once(client, login, make_edition_module):
    em = make_edition_module(edition__module_choice=True, module__name="Agile")
    login()
    html = client.get(f"/editions/{em.edition.slug}/register").text
    assert "Modules you want to attend" in html
    assert ">Modules</legend>" not in html
    assert '<label class="form-label" for="modules"' not in html


def test_missing_consent_says_so_and_writes_nothing(client, login, db, make_edition):
    edition = make_edition()
    user = login()
    response = client.post(f"/editions/{edition.slug}/register", data={**FORM, "consent": ""})
    assert response.status_code == 400
    assert "agree to the processing of your personal data" in response.text
    assert registrations(db) == []
    db.session.refresh(user)
    assert user.institution == "Ministry of Public Administration"
    assert db.session.scalar(sa.select(sa.func.count(OutboundEmail.id))) == 0


@pytest.mark.parametrize(
    ("edition_kwargs", "status", "message"),
    [
        ({"past": True}, 400, "Registration for this edition is closed."),
        ({"past": True, "status": "archived"}, 400, "archived"),
        ({"registration_opens_at": utcnow() + timedelta(days=2)}, 400, "not opened yet"),
        ({"draft": True}, 404, "Page not found"),
    ],
)
def test_registration_outside_the_window_is_refused(
    client, login, db, make_edition, edition_kwargs, status, message
):
    edition = make_edition(**edition_kwargs)
    login()
    for response in (
        client.get(f"/editions/{edition.slug}/register"),
        client.post(f"/editions/{edition.slug}/register", data=FORM),
    ):
        assert response.status_code == status
        assert message in response.text
    assert registrations(db) == []


def test_registering_again_shows_the_existing_registration(
    client, login, db, make_edition, make_registration
):
    edition = make_edition(capacity=1)
    user = login()
    make_registration(edition=edition)
    make_registration(
        edition=edition, user=user, status=RegistrationStatus.WAITLISTED, waitlist_position=1
    )
    page = client.get(f"/editions/{edition.slug}/register")
    assert page.status_code == 200
    assert "You are already registered" in page.text
    assert "Position 1 on the waiting list" in page.text
    again = client.post(f"/editions/{edition.slug}/register", data=FORM)
    assert again.status_code == 409
    assert "You are already registered" in again.text
    assert len(registrations(db)) == 2


def test_module_choice_form_lists_the_edition_modules(
    client, login, db, make_edition, make_edition_module
):
    edition = make_edition(module_choice=True)
    agile = make_edition_module(edition=edition, module__name="Agile")
    make_edition_module(edition=edition, module__name="Remote Teams")
    login()
    page = client.get(f"/editions/{edition.slug}/register")
    assert "Agile" in page.text and "Remote Teams" in page.text
    none_chosen = client.post(f"/editions/{edition.slug}/register", data=FORM)
    assert none_chosen.status_code == 400
    assert "Choose at least one module" in none_chosen.text
    client.post(f"/editions/{edition.slug}/register", data={**FORM, "modules": [agile.id]})
    (registration,) = registrations(db)
    assert [em.module.name for em in registration.modules] == ["Agile"]


def test_a_post_without_csrf_token_is_refused(app, client, login, db, make_edition):
    app.config["WTF_CSRF_ENABLED"] = True
    edition = make_edition()
    login()
    response = client.post(f"/editions/{edition.slug}/register", data=FORM)
    assert response.status_code == 400
    assert registrations(db) == []


def test_cancelling_my_seat_promotes_the_next_person(
    client, login, db, make_edition, make_registration, outbox
):
    edition = make_edition(capacity=1)
    user = login()
    mine = make_registration(edition=edition, user=user)
    waiting = make_registration(
        edition=edition, status=RegistrationStatus.WAITLISTED, waitlist_position=1
    )
    response = client.post(f"/me/registrations/{mine.id}/cancel", follow_redirects=True)
    assert "Your registration is cancelled." in response.text
    db.session.refresh(waiting)
    assert waiting.status == RegistrationStatus.ACCEPTED
    assert {m["To"] for m in outbox} == {user.email, waiting.user.email}


def test_cannot_cancel_someone_elses_registration(client, login, db, make_registration):
    other = make_registration()
    login()
    assert client.post(f"/me/registrations/{other.id}/cancel").status_code == 404
    db.session.refresh(other)
    assert other.status == RegistrationStatus.ACCEPTED


def test_schedule_page_ics_download_and_private_feed(
    client, login, make_edition_module, make_session, make_registration
):
    em = make_edition_module(module__name="Human Ware")
    make_session(edition_module=em, title="Strengths in teams")
    user = login()
    make_registration(user=user, edition=em.edition)
    page = client.get("/me/schedule")
    assert "Human Ware" in page.text and "Strengths in teams" in page.text
    assert user.calendar_token in page.text
    ics = client.get("/me/schedule.ics")
    assert ics.headers["Content-Type"].startswith("text/calendar")
    assert b"BEGIN:VEVENT" in ics.data and b"Human Ware" in ics.data
    client.post("/logout")
    feed = client.get(f"/calendar/{user.calendar_token}.ics")
    assert feed.status_code == 200 and b"Human Ware" in feed.data
    assert client.get("/calendar/guessed-token.ics").status_code == 404


def test_schedule_shows_sessions_ahead_first_and_past_ones_folded(
    client, login, make_edition, make_edition_module, make_session, make_registration
):
    edition = make_edition(  # running now
        start_date=date.today() - timedelta(days=3),
        end_date=date.today() + timedelta(days=3),
        registration_opens_at=utcnow() - timedelta(days=60),
    )
    em = make_edition_module(edition=edition, module__name="Remote Teams")
    yesterday = make_session(
        edition_module=em,
        title="Session of yesterday",
        starts_at=utcnow() - timedelta(days=1),
        ends_at=utcnow() - timedelta(days=1) + timedelta(hours=2),
    )
    tomorrow = make_session(
        edition_module=em,
        title="Session of tomorrow",
        starts_at=utcnow() + timedelta(days=1),
        ends_at=utcnow() + timedelta(days=1, hours=2),
    )
    user = login()
    make_registration(user=user, edition=edition)

    page = client.get("/me/schedule").text

    ahead, _, folded = page.partition("Past sessions (1)")
    assert tomorrow.title in ahead and yesterday.title not in ahead
    assert yesterday.title in folded and "<details" in page


def test_new_calendar_address_retires_the_old_one(
    client, login, db, make_edition_module, make_registration
):
    em = make_edition_module(module__name="Human Ware")
    user = login()
    make_registration(user=user, edition=em.edition)
    old = user.calendar_token

    response = client.post("/me/schedule/calendar-address", follow_redirects=True)

    db.session.refresh(user)
    assert user.calendar_token != old
    assert "the old one no longer works" in response.text
    assert user.calendar_token in response.text and old not in response.text
    assert client.get(f"/calendar/{old}.ics").status_code == 404
    assert client.get(f"/calendar/{user.calendar_token}.ics").status_code == 200
    assert client.get("/me/schedule/calendar-address").status_code == 405


def test_edition_page_shows_my_status(client, login, make_registration):
    user = login()
    registration = make_registration(
        user=user, status=RegistrationStatus.WAITLISTED, waitlist_position=3
    )
    page = client.get(f"/editions/{registration.edition.slug}")
    assert "Position 3 on the waiting list" in page.text


# --- staff side -----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/overview", "/capacity", "/export.csv", "/export.xlsx"])
def test_staff_pages_are_for_staff_only(client, login, make_edition, make_user, suffix):
    edition = make_edition()
    url = f"/staff/editions/{edition.slug}/registrations{suffix}"
    assert client.get(url).status_code == 302  # anonymous: sign in first
    login(make_user())
    assert client.get(url).status_code == 403
    login(make_user(trainer=True))
    assert client.get(url).status_code == 403
    login(make_user(admin=True))
    assert client.get(url).status_code == 200
    assert client.get(f"/staff/editions/no-such/registrations{suffix}").status_code == 404


@pytest.fixture
def crowd(make_edition, make_registration, make_user):
    """An open edition with 3 seats: two Serbian accepted, a Kosovar waitlisted, one pending."""
    edition = make_edition(capacity=3)
    make_registration(edition=edition, user=make_user(full_name="Đorđe Čolić"))
    make_registration(edition=edition, user=make_user(full_name="Ана Петровић"))
    make_registration(
        edition=edition,
        user=make_user(full_name="Arben Hoxha", country=Country.KOSOVO),
        status=RegistrationStatus.WAITLISTED,
        waitlist_position=1,
    )
    make_registration(
        edition=edition,
        user=make_user(full_name="Ilir Berisha", country=Country.ALBANIA),
        status=RegistrationStatus.PENDING,
    )
    return edition


def test_staff_list_counts_filters_and_searches(client, login, crowd):
    login(role="staff")
    url = f"/staff/editions/{crowd.slug}/registrations"
    page = client.get(url)
    assert "Đorđe Čolić" in page.text and "Arben Hoxha" in page.text
    assert "UNSCR 1244/1999" in page.text  # a Kosovar is listed
    assert 'class="seats-free">1<' in page.text
    assert "Arben Hoxha" not in client.get(url + "?status=accepted").text
    assert "Čolić" in client.get(url + "?q=colic").text
    assert "Петровић" not in client.get(url + "?q=colic").text
    by_country = client.get(url + "?country=AL").text
    assert "Ilir Berisha" in by_country and "Čolić" not in by_country


def test_staff_list_shows_each_registrations_modules_in_programme_order_and_names_its_checkbox(
    client, login, make_edition, make_edition_module, make_registration, make_user
):
    edition = make_edition(module_choice=True, capacity=10)
    agile = make_edition_module(edition=edition, module__name="Agile", position=2)
    human_ware = make_edition_module(edition=edition, module__name="Human Ware", position=1)
    crisis = make_edition_module(edition=edition, module__name="Crisis <Communication>", position=3)
    ana = make_registration(
        edition=edition,
        user=make_user(full_name="Ana Petrović"),
        modules=[crisis, agile, human_ware],
    )
    make_registration(edition=edition, user=make_user(full_name="Ilir Berisha"), modules=[agile])
    login(role="staff")
    page = client.get(f"/staff/editions/{edition.slug}/registrations")
    assert page.status_code == 200
    cells = re.findall(r'<td class="small">([^<]*(?:&lt;[^<]*)?)</td>', page.text)
    assert "Human Ware, Agile, Crisis &lt;Communication&gt;" in cells
    assert "Agile" in cells
    # The checkbox's accessible name is its label: the person's name.
    assert f'<label for="select-{ana.id}" class="fw-semibold">Ana Petrović</label>' in page.text


def _listed(page) -> list[str]:
    return re.findall(r'<label for="select-\d+" class="fw-semibold">([^<]+)</label>', page.text)


def test_staff_list_pages_keep_the_review_order_and_count_what_each_filter_matches(
    app, client, login, crowd
):
    """Pages of two: every registration once, in review order (to decide, accepted by name,
    then the waiting list), and each filter's total as the page states it."""
    app.config["PER_PAGE"] = 2
    login(role="staff")
    url = f"/staff/editions/{crowd.slug}/registrations"
    first, second = client.get(url), client.get(url + "?page=2")
    assert _listed(first) + _listed(second) == [
        "Ilir Berisha",
        "Đorđe Čolić",
        "Ана Петровић",
        "Arben Hoxha",
    ]
    assert "1–2 of 4" in first.text and "3–4 of 4" in second.text
    assert client.get(url + "?page=3").status_code == 404
    app.config["PER_PAGE"] = 1
    accepted = [client.get(url + f"?status=accepted&page={n}") for n in (1, 2)]
    assert [_listed(page) for page in accepted] == [["Đorđe Čolić"], ["Ана Петровић"]]
    assert "1–1 of 2" in accepted[0].text and "2–2 of 2" in accepted[1].text
    assert client.get(url + "?status=accepted&page=3").status_code == 404
    assert "1–1 of 4" in client.get(url + "?status=nonsense").text  # filters nothing
    albania = client.get(url + "?country=AL")
    assert _listed(albania) == ["Ilir Berisha"] and 'aria-label="Pages"' not in albania.text
    serbia = client.get(url + "?country=RS&page=2")
    assert _listed(serbia) == ["Ана Петровић"] and "2–2 of 2" in serbia.text


def test_staff_list_paginates_in_a_fixed_number_of_queries(
    app, client, login, db, make_edition, make_registration, make_edition_module
):
    app.config["PER_PAGE"] = 5
    edition = make_edition(module_choice=True, capacity=100)
    em = make_edition_module(edition=edition)
    login(role="staff")
    url = f"/staff/editions/{edition.slug}/registrations"
    for _ in range(6):
        make_registration(edition=edition, modules=[em])
    db.session.expire_all()
    with count_queries() as small:
        assert client.get(url).status_code == 200
    for _ in range(6):
        make_registration(edition=edition, modules=[em])
    db.session.expire_all()
    with count_queries() as large:
        page = client.get(url + "?page=2")
    assert page.status_code == 200
    assert "6–10 of 12" in page.text
    assert large.count == small.count, f"{small}\n{large}"


def test_bulk_accept_past_capacity_is_refused_with_a_clear_message(client, login, db, crowd):
    login(role="staff")
    waiting, pending = registrations(db, crowd)[2:]
    response = client.post(
        f"/staff/editions/{crowd.slug}/registrations/bulk",
        data={"action": "accept", "ids": [waiting.id, pending.id]},
        follow_redirects=True,
    )
    assert "would exceed the capacity of 3" in response.text
    db.session.refresh(pending)
    assert pending.status == RegistrationStatus.PENDING
    response = client.post(
        f"/staff/editions/{crowd.slug}/registrations/bulk",
        data={"action": "accept", "ids": [pending.id]},
        follow_redirects=True,
    )
    assert "1 registration updated." in response.text
    db.session.refresh(pending)
    assert pending.status == RegistrationStatus.ACCEPTED


def test_bulk_reject_records_the_reason_and_emails(client, login, db, crowd, outbox):
    login(role="staff")
    pending = registrations(db, crowd)[3]
    client.post(
        f"/staff/editions/{crowd.slug}/registrations/bulk",
        data={"action": "reject", "ids": [pending.id], "reason": "Outside the target group"},
    )
    db.session.refresh(pending)
    assert pending.status == RegistrationStatus.REJECTED
    assert [m["To"] for m in outbox] == [pending.user.email]


def test_bulk_without_selection_says_so(client, login, crowd):
    login(role="staff")
    response = client.post(
        f"/staff/editions/{crowd.slug}/registrations/bulk",
        data={"action": "accept"},
        follow_redirects=True,
    )
    assert "at least one registration" in response.text


def test_raising_capacity_promotes_from_the_waiting_list(client, login, db, crowd):
    login(role="staff")
    url = f"/staff/editions/{crowd.slug}/registrations/capacity"
    assert client.post(url, data={"capacity": "-1"}).status_code == 400
    response = client.post(url, data={"capacity": "4"}, follow_redirects=True)
    assert "Capacity set to 4. 1 person promoted from the waiting list." in response.text
    waiting = registrations(db, crowd)[2]
    db.session.refresh(waiting)
    assert waiting.status == RegistrationStatus.ACCEPTED
    too_low = client.post(url, data={"capacity": "1"})
    assert too_low.status_code == 409
    assert "cannot be lower" in too_low.text


def test_exports_keep_cyrillic_and_carry_the_kosovo_note(client, login, crowd):
    from openpyxl import load_workbook

    login(role="staff")
    response = client.get(f"/staff/editions/{crowd.slug}/registrations/export.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Full name", "Email", "Country"]
    names = [row[0] for row in rows[1:5]]
    assert "Ана Петровић" in names and "Đorđe Čolić" in names
    assert "UNSCR 1244/1999" in rows[-1][0]
    xlsx = client.get(f"/staff/editions/{crowd.slug}/registrations/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert {v[0] for v in values[1:5]} == {
        "Đorđe Čolić",
        "Ана Петровић",
        "Arben Hoxha",
        "Ilir Berisha",
    }
    assert "Kosovo*" in {v[2] for v in values[1:5]}


def test_overview_shows_numbers_by_country_and_module(client, login, crowd):
    login(role="staff")
    page = client.get(f"/staff/editions/{crowd.slug}/registrations/overview")
    assert page.status_code == 200
    assert "By country" in page.text and "Kosovo*" in page.text
    assert "<meter" in page.text
    assert "UNSCR 1244/1999" in page.text


def test_dashboard_loads_in_a_fixed_number_of_queries(
    client, login, db, make_edition, make_edition_module, make_registration
):
    user = login()

    def add_registrations(n):
        for _ in range(n):
            edition = make_edition(module_choice=True)
            em = make_edition_module(edition=edition)
            make_registration(user=user, edition=edition, modules=[em])

    add_registrations(2)
    db.session.expire_all()
    with count_queries() as small:
        assert client.get("/me/registrations").status_code == 200
    add_registrations(6)
    db.session.expire_all()
    with count_queries() as large:
        page = client.get("/me/registrations")
    assert page.text.count('class="card mb-3 registration-card"') == 8
    assert large.count == small.count, f"{small}\n{large}"


def test_exports_defuse_spreadsheet_formulas(client, login, make_registration, make_user):
    registration = make_registration(user=make_user(institution='=HYPERLINK("http://x","y")'))
    login(role="staff")
    response = client.get(f"/staff/editions/{registration.edition.slug}/registrations/export.csv")
    assert "'=HYPERLINK" in response.data.decode("utf-8-sig")
