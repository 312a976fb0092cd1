"""Programme pages as staff, trainers, participants and visitors use them."""

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from schoolmgr.models import (
    AuditEvent,
    Edition,
    EditionModule,
    EditionStatus,
    Module,
    Role,
    Session,
    User,
)

STAFF_PAGES = [
    ("get", "/staff/editions"),
    ("get", "/staff/editions/new"),
    ("get", "/staff/editions/{edition}"),
    ("get", "/staff/editions/{edition}/edit"),
    ("get", "/staff/editions/{edition}/duplicate"),
    ("get", "/staff/editions/{edition}/schedule"),
    ("get", "/staff/edition-modules/{em}/trainers"),
    ("get", "/staff/edition-modules/{em}/sessions/new"),
    ("get", "/staff/sessions/{session}/edit"),
    ("get", "/staff/modules"),
    ("get", "/staff/modules/new"),
    ("post", "/staff/editions/{edition}/status"),
    ("post", "/staff/edition-modules/{em}/remove"),
    ("post", "/staff/sessions/{session}/delete"),
    ("post", "/staff/modules/{module}/retire"),
    ("post", "/staff/trainers/invite"),
]


@pytest.fixture
def scheduled(make_session):
    session = make_session()
    em = session.edition_module
    return {"edition": em.edition.slug, "em": em.id, "session": session.id, "module": em.module_id}


@pytest.mark.parametrize(("method", "path"), STAFF_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, scheduled, method, path):
    response = getattr(client, method)(path.format(**scheduled))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", [Role.PARTICIPANT, Role.TRAINER])
@pytest.mark.parametrize(("method", "path"), STAFF_PAGES)
def test_participants_and_trainers_are_refused(client, login, scheduled, role, method, path):
    login(role=role)
    assert getattr(client, method)(path.format(**scheduled)).status_code == 403


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
@pytest.mark.parametrize(("method", "path"), [p for p in STAFF_PAGES if p[0] == "get"])
def test_staff_and_admins_open_every_page(client, login, scheduled, role, method, path):
    login(role=role)
    assert client.get(path.format(**scheduled)).status_code == 200


def edition_form(**overrides):
    data = {
        "title": "Seasonal School on Rapid Innovation Lab 2027",
        "slug": "",
        "series": "rapid-innovation-lab",
        "kind": "seasonal_school",
        "format": "online",
        "venue": "",
        "online_url": "https://meet.example.org/ril",
        "timezone": "Europe/Skopje",
        "start_date": "2027-10-04",
        "end_date": "2027-10-22",
        "registration_opens_date": "2027-06-01",
        "registration_opens_time": "09:00",
        "registration_closes_date": "2027-09-30",
        "registration_closes_time": "23:59",
        "capacity": "40",
        "registration_mode": "moderated",
        "description": "Three weeks online.",
        "certificate_threshold": "75",
        "excused_counts_as_attended": "y",
        "signatories": "Ana Anić | Director\nMarko Marković | Head of Programme",
    }
    data.update(overrides)
    return data


def test_staff_create_an_edition_and_see_its_programme_page(client, login, db):
    login(role=Role.STAFF)
    response = client.post("/staff/editions/new", data=edition_form(), follow_redirects=True)

    assert response.status_code == 200
    assert "Draft edition Seasonal School on Rapid Innovation Lab 2027 created" in response.text
    edition = db.session.scalar(sa.select(Edition))
    assert edition.slug == "seasonal-school-on-rapid-innovation-lab-2027"
    assert edition.status == EditionStatus.DRAFT
    assert edition.registration_mode.value == "moderated"
    assert edition.capacity == 40 and edition.certificate_threshold == 75
    assert edition.registration_closes_at.astimezone(edition.tz).strftime("%H:%M") == "23:59"
    assert [s["title"] for s in edition.signatories] == ["Director", "Head of Programme"]
    assert "times in Europe/Skopje" in response.text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"end_date": "2027-10-01"}, "cannot end before it starts"),
        ({"registration_closes_date": "2027-10-23"}, "cannot close after the edition ends"),
        ({"slug": "Not A Slug"}, "Use lower-case letters"),
        ({"capacity": "0"}, "Number must be"),
        ({"title": ""}, "This field is required"),
        ({"start_date": "31/02/2027"}, "Not a valid date"),
        # Days past the school's calendar: a slip of the keyboard, or the calendar's end.
        ({"end_date": "2100-10-22"}, "Enter a day from the year 2000 to 2099."),
        (
            {"start_date": "9999-12-30", "end_date": "9999-12-31"},
            "Enter a day from the year 2000 to 2099.",
        ),
        ({"registration_opens_date": "0001-01-01"}, "Enter a day from the year 2000 to 2099."),
    ],
)
def test_bad_edition_input_is_shown_next_to_the_field(client, login, db, overrides, message):
    login(role=Role.STAFF)
    response = client.post("/staff/editions/new", data=edition_form(**overrides))
    assert response.status_code == 400
    assert message in response.text
    assert db.session.scalar(sa.select(sa.func.count(Edition.id))) == 0


def test_taken_slug_suggests_a_free_one_on_the_form(client, login, make_edition):
    make_edition(slug="ril-2027")
    login(role=Role.STAFF)
    response = client.post("/staff/editions/new", data=edition_form(slug="ril-2027"))
    assert response.status_code == 400
    assert "ril-2027-2" in response.text


def test_edit_form_shows_current_values_in_the_edition_zone(client, login, make_edition):
    edition = make_edition(timezone="Europe/Tirane", venue="Tirana")
    login(role=Role.STAFF)
    response = client.get(f"/staff/editions/{edition.slug}/edit")
    assert 'value="Tirana"' in response.text
    assert 'value="23:59"' in response.text  # the factory closes registration at 23:59 local


def test_capacity_below_accepted_is_refused_on_the_form(
    client, login, make_edition, make_registration
):
    edition = make_edition(capacity=2)
    make_registration(edition=edition)
    make_registration(edition=edition)
    login(role=Role.STAFF)
    form = client.get(f"/staff/editions/{edition.slug}/edit")
    assert form.status_code == 200
    data = edition_form(
        start_date=edition.start_date.isoformat(),
        end_date=edition.end_date.isoformat(),
        registration_closes_date=edition.start_date.isoformat(),
        capacity="1",
    )
    response = client.post(f"/staff/editions/{edition.slug}/edit", data=data)
    assert response.status_code == 400
    assert "2 registrations already accepted" in response.text


def test_changing_the_time_zone_says_sessions_keep_their_local_times(
    client, login, make_edition, make_session, db
):
    edition = make_edition(timezone="Europe/Belgrade", slug="ril-2027")
    session = make_session(edition_module__edition=edition)  # 09:30 local on the first day
    login(role=Role.STAFF)
    data = edition_form(
        slug="ril-2027",
        timezone="Europe/London",
        start_date=edition.start_date.isoformat(),
        end_date=edition.end_date.isoformat(),
        registration_opens_date=(edition.start_date - timedelta(days=30)).isoformat(),
        registration_closes_date=edition.start_date.isoformat(),
        registration_closes_time="08:00",
    )
    response = client.post(f"/staff/editions/{edition.slug}/edit", data=data, follow_redirects=True)
    assert response.status_code == 200
    assert "every session kept its local clock time" in response.text
    db.session.refresh(session)
    assert session.starts_at.astimezone(ZoneInfo("Europe/London")).strftime("%H:%M") == "09:30"


def test_publish_then_visitors_see_it(client, login, make_edition, db):
    edition = make_edition(draft=True, title="Hackathon Skopje")
    login(role=Role.STAFF)
    client.post(f"/staff/editions/{edition.slug}/status", data={"action": "publish"})
    assert db.session.get(Edition, edition.id).status == EditionStatus.PUBLISHED
    client.post("/logout")
    assert "Hackathon Skopje" in client.get("/").text


def test_refused_unpublish_explains_why_with_a_4xx(client, login, make_registration):
    registration = make_registration()
    login(role=Role.STAFF)
    response = client.post(
        f"/staff/editions/{registration.edition.slug}/status", data={"action": "unpublish"}
    )
    assert response.status_code == 409
    assert "Archive it instead" in response.text


def test_add_module_assign_trainer_and_add_a_session(
    client, login, make_edition, make_module, make_user, db
):
    edition = make_edition(start_date=date(2027, 9, 13), end_date=date(2027, 9, 17))
    module = make_module(name="Agile, Iterative Methodologies & Mindset")
    trainer = make_user(trainer=True, full_name="Ivana Ivanović")
    login(role=Role.STAFF)

    client.post(f"/staff/editions/{edition.slug}/modules", data={"module_id": module.id})
    em = db.session.scalar(sa.select(EditionModule))
    client.post(f"/staff/edition-modules/{em.id}/trainers", data={"trainers": [trainer.id]})
    response = client.post(
        f"/staff/edition-modules/{em.id}/sessions/new",
        data={"day": "2027-09-14", "start_time": "09:30", "end_time": "12:30", "room": "Hall B"},
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert "Ivana Ivanović" in response.text
    assert "09:30–12:30" in response.text
    session = db.session.scalar(sa.select(Session))
    assert session.starts_at.strftime("%H:%M") == "07:30"  # stored in UTC


def test_conflicting_session_is_shown_and_saved_only_when_confirmed(
    client, login, make_session, make_edition_module, db
):
    existing = make_session(room="Plenary hall")
    edition = existing.edition_module.edition
    em = make_edition_module(edition=edition)
    login(role=Role.STAFF)
    data = {
        "day": edition.start_date.isoformat(),
        "start_time": "10:00",
        "end_time": "11:00",
        "room": "Plenary hall",
    }
    response = client.post(f"/staff/edition-modules/{em.id}/sessions/new", data=data)
    assert response.status_code == 409
    assert "Plenary hall is booked for" in response.text
    assert "Save anyway" in response.text
    assert db.session.scalar(sa.select(sa.func.count(Session.id))) == 1

    response = client.post(
        f"/staff/edition-modules/{em.id}/sessions/new", data={**data, "confirm_conflicts": "y"}
    )
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Session.id))) == 2


def test_session_outside_the_edition_is_refused_on_the_form(client, login, make_edition_module):
    em = make_edition_module()
    login(role=Role.STAFF)
    day = em.edition.end_date + timedelta(days=1)
    response = client.post(
        f"/staff/edition-modules/{em.id}/sessions/new",
        data={"day": day.isoformat(), "start_time": "09:00", "end_time": "10:00"},
    )
    assert response.status_code == 400
    assert "outside the edition" in response.text


def test_deleting_a_marked_session_is_refused_with_an_explanation(
    client, login, make_attendance, db
):
    attendance = make_attendance()
    login(role=Role.STAFF)
    response = client.post(f"/staff/sessions/{attendance.session_id}/delete")
    assert response.status_code == 409
    assert "attendance marks" in response.text
    assert db.session.get(Session, attendance.session_id) is not None


def test_duplicate_page_creates_next_season(client, login, make_session, db):
    session = make_session()
    edition = session.edition_module.edition
    login(role=Role.STAFF)
    page = client.get(f"/staff/editions/{edition.slug}/duplicate")
    assert "Sessions and the registration window move" in page.text
    start = edition.start_date + timedelta(weeks=52)
    response = client.post(
        f"/staff/editions/{edition.slug}/duplicate",
        data={"title": "Next season", "slug": "next-season", "start_date": start.isoformat()},
    )
    assert response.status_code == 302
    copy = db.session.scalar(sa.select(Edition).where(Edition.slug == "next-season"))
    assert len(copy.edition_modules[0].sessions) == 1


@pytest.mark.parametrize("start", ["9999-12-31", "0001-01-02", "2100-01-04"])
def test_duplicating_to_a_day_past_the_school_calendar_says_so(
    client, login, make_session, db, start
):
    session = make_session()
    edition = session.edition_module.edition
    editions_before = db.session.scalar(sa.select(sa.func.count()).select_from(Edition))
    login(role=Role.STAFF)
    response = client.post(
        f"/staff/editions/{edition.slug}/duplicate",
        data={"title": "Far away", "slug": "far-away", "start_date": start},
    )
    assert response.status_code == 400
    assert "Enter a day from the year 2000 to 2099." in response.text
    assert 'id="start_date"' in response.text and "is-invalid" in response.text
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Edition)) == editions_before


@pytest.mark.parametrize("stored", [date(9999, 6, 1), date(1, 1, 1)])
def test_duplicating_an_edition_stored_outside_the_calendar_suggests_no_day(
    client, login, make_edition, db, stored
):
    # Editions saved before the forms bounded their days may sit at either end of the calendar.
    edition = make_edition(title=f"Legacy {stored.year}")
    edition.start_date = edition.end_date = stored
    db.session.commit()
    login(role=Role.STAFF)
    page = client.get(f"/staff/editions/{edition.slug}/duplicate")
    assert page.status_code == 200
    field = re.search(r'<input[^>]*id="start_date"[^>]*>', page.text).group(0)
    assert 'value=""' in field or "value=" not in field
    assert f'value="Legacy {stored.year}"' in page.text


def test_duplicate_page_suggests_the_same_weekday_next_year(client, login, make_edition, db):
    edition = make_edition(title="Digital Transformation 2019")
    edition.start_date, edition.end_date = date(2019, 9, 16), date(2019, 9, 20)
    db.session.commit()
    login(role=Role.STAFF)
    page = client.get(f"/staff/editions/{edition.slug}/duplicate")
    assert 'value="2020-09-14"' in page.text
    assert 'value="Digital Transformation 2020"' in page.text


def test_schedule_week_and_day_views(client, login, make_session):
    session = make_session(title="Opening plenary")
    edition = session.edition_module.edition
    login(role=Role.STAFF)
    week = client.get(f"/staff/editions/{edition.slug}/schedule")
    assert "Opening plenary" in week.text and "Next week" in week.text
    day = client.get(
        f"/staff/editions/{edition.slug}/schedule?view=day&day={edition.start_date.isoformat()}"
    )
    assert "Opening plenary" in day.text and "Next day" in day.text
    other_day = client.get(
        f"/staff/editions/{edition.slug}/schedule?view=day"
        f"&day={(edition.start_date + timedelta(days=1)).isoformat()}"
    )
    assert "Opening plenary" not in other_day.text
    assert client.get(f"/staff/editions/{edition.slug}/schedule?day=garbage").status_code == 200
    # A day at either end of the calendar shows the edition's first week, as a garbled one does.
    for query in ("day=9999-12-31", "view=day&day=9999-12-28", "day=0001-01-01"):
        page = client.get(f"/staff/editions/{edition.slug}/schedule?{query}")
        assert page.status_code == 200, query
    assert "Opening plenary" in page.text


def test_module_catalogue_create_retire_and_refuse_delete_in_use(
    client, login, make_edition_module, db
):
    login(role=Role.STAFF)
    client.post("/staff/modules/new", data={"name": "Resilience & Wellbeing", "summary": "Care"})
    module = db.session.scalar(sa.select(Module).where(Module.name == "Resilience & Wellbeing"))
    assert module.slug == "resilience-wellbeing"
    used = make_edition_module().module
    response = client.post(f"/staff/modules/{used.id}/delete")
    assert response.status_code == 409
    assert "Retire it instead" in response.text
    client.post(f"/staff/modules/{used.id}/retire", data={"retire": "1"}, follow_redirects=True)
    assert db.session.get(Module, used.id).is_retired
    assert used.name not in client.get("/modules").text


def test_invite_a_trainer_from_the_module_page_then_they_set_a_password(
    client, login, make_edition_module, outbox, db
):
    em = make_edition_module()
    login(role=Role.STAFF)
    response = client.post(
        "/staff/trainers/invite",
        data={"full_name": "Besa Hoxha", "email": "besa@example.org", "edition_module_id": em.id},
    )
    assert response.status_code == 302
    [message] = outbox
    link = next(
        w for w in message.get_body(("plain",)).get_content().split() if "/invitation/" in w
    )
    path = link[link.index("/staff/") :]
    client.post("/logout")

    assert "Welcome, Besa Hoxha" in client.get(path).text
    response = client.post(
        path, data={"password": "a long enough password", "confirm": "a long enough password"}
    )
    assert response.status_code == 302
    trainer = db.session.scalar(sa.select(User).where(User.email == "besa@example.org"))
    assert trainer.role == Role.TRAINER and trainer.check_password("a long enough password")
    assert trainer in db.session.get(EditionModule, em.id).trainers
    assert client.get(path).status_code == 404  # used once


def test_csrf_is_enforced_on_programme_forms(app, client, login, make_edition, db):
    app.config["WTF_CSRF_ENABLED"] = True
    edition = make_edition(draft=True)
    login(role=Role.STAFF)
    response = client.post(f"/staff/editions/{edition.slug}/status", data={"action": "publish"})
    assert response.status_code == 400
    assert db.session.get(Edition, edition.id).status == EditionStatus.DRAFT
    assert client.post("/staff/editions/new", data=edition_form()).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0


def test_editions_list_is_paginated_and_filtered(client, login, make_edition, app):
    app.config["PER_PAGE"] = 2
    for n in range(3):
        make_edition(title=f"Published {n}")
    make_edition(draft=True, title="Secret draft")
    login(role=Role.STAFF)
    first = client.get("/staff/editions")
    assert "1–2 of 4" in first.text
    drafts = client.get("/staff/editions?status=draft")
    assert "Secret draft" in drafts.text and "Published 0" not in drafts.text


def test_series_page_lists_every_public_edition_of_a_school(client, make_edition):
    make_edition(series="digital-transformation", title="DT 2019", past=True)
    make_edition(series="digital-transformation", title="DT next")
    make_edition(series="digital-transformation", title="DT draft", draft=True)
    make_edition(series="other", title="Other school")
    response = client.get("/series/digital-transformation")
    assert response.status_code == 200
    assert "DT 2019" in response.text and "DT next" in response.text
    assert "2019" in response.text
    assert '<h1 class="h2">DT next</h1>' in response.text
    assert "DT draft" not in response.text and "Other school" not in response.text
    assert response.text.index("DT next") < response.text.index("DT 2019")
    assert client.get("/series/nothing-here").status_code == 404


def _queries(db, client, url) -> int:
    from tests.querycount import count_queries

    db.session.expire_all()
    with count_queries() as queries:
        assert client.get(url).status_code == 200
    return queries.count


def _grow(edition, make_edition_module, make_session, make_user, n):
    for _ in range(n):
        em = make_edition_module(edition=edition, trainers=[make_user(trainer=True)])
        make_session(edition_module=em)
        make_session(edition_module=em, room="Room 2")


def test_staff_pages_load_in_a_fixed_number_of_queries(
    client, login, db, make_edition, make_edition_module, make_session, make_user
):
    edition = make_edition()
    _grow(edition, make_edition_module, make_session, make_user, 2)
    login(role=Role.STAFF)
    urls = [
        f"/staff/editions/{edition.slug}",
        f"/staff/editions/{edition.slug}/schedule",
        "/staff/editions",
        "/staff/people/",
        "/staff/modules",
    ]
    small = [_queries(db, client, url) for url in urls]
    _grow(edition, make_edition_module, make_session, make_user, 4)
    for _ in range(3):
        make_edition()
    assert [_queries(db, client, url) for url in urls] == small


def test_removing_a_module_asks_first_and_explains_what_blocks_it(
    client, login, make_session, make_attendance, db
):
    free = make_session()
    marked = make_attendance().session
    login(role=Role.STAFF)

    page = client.get(f"/staff/edition-modules/{free.edition_module_id}/remove")
    assert "Its 1 session is deleted with it" in page.text
    page = client.get(f"/staff/edition-modules/{marked.edition_module_id}/remove")
    assert "1 attendance marks" in page.text and "Remove the module" not in page.text

    client.post(f"/staff/edition-modules/{free.edition_module_id}/remove")
    assert db.session.get(EditionModule, free.edition_module_id) is None
    response = client.post(f"/staff/edition-modules/{marked.edition_module_id}/remove")
    assert response.status_code == 409
    assert db.session.get(EditionModule, marked.edition_module_id) is not None


def test_an_unusual_time_zone_can_be_kept_when_editing(client, login, make_edition, db):
    edition = make_edition(timezone="America/New_York")
    login(role=Role.STAFF)
    page = client.get(f"/staff/editions/{edition.slug}/edit")
    assert '<option selected value="America/New_York">' in page.text
