"""Registration rules: capacity, waiting list, windows, consent, staff decisions, emails."""

import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa

from schoolmgr.mail import deliver_pending
from schoolmgr.models import (
    AuditEvent,
    Country,
    EmailStatus,
    OutboundEmail,
    Registration,
    RegistrationStatus,
    utcnow,
)
from schoolmgr.registration import calendars, exports, registering, review, seats
from schoolmgr.registration.errors import RegistrationError


def register(user, edition, **kwargs):
    kwargs.setdefault("consent", True)
    return registering.register(user, edition, **kwargs)


def statuses(db, edition):
    rows = db.session.execute(
        sa.select(Registration.status, Registration.waitlist_position)
        .where(Registration.edition_id == edition.id)
        .order_by(Registration.id)
    ).all()
    return [(s.value, p) for s, p in rows]


def registration_count(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(Registration.id)))


def emails(db, template=None):
    query = sa.select(OutboundEmail).order_by(OutboundEmail.id)
    if template:
        query = query.where(OutboundEmail.template == template)
    return db.session.scalars(query).all()


def test_open_edition_accepts_until_full_then_waitlists_in_order(db, make_edition, make_user):
    edition = make_edition(capacity=2)
    people = [make_user() for _ in range(4)]
    for person in people:
        register(person, edition)
    assert statuses(db, edition) == [
        ("accepted", None),
        ("accepted", None),
        ("waitlisted", 1),
        ("waitlisted", 2),
    ]
    waitlisted = emails(db, "registration_waitlisted")
    assert [e.recipient for e in waitlisted] == [people[2].email, people[3].email]
    assert "number 2 on the waiting list" in waitlisted[1].body_text
    assert len(emails(db, "registration_accepted")) == 2


def test_moderated_edition_keeps_registrations_pending(db, make_edition, make_user):
    edition = make_edition(moderated=True, capacity=1)
    registration = register(make_user(), edition)
    register(make_user(), edition)
    assert registration.status == RegistrationStatus.PENDING
    assert statuses(db, edition) == [("pending", None), ("pending", None)]
    assert [e.template for e in emails(db)] == ["registration_received"] * 2


def test_registration_saves_profile_consent_time_and_modules(
    db, make_edition, make_edition_module, make_user
):
    edition = make_edition(module_choice=True)
    agile = make_edition_module(edition=edition)
    mandatory = make_edition_module(edition=edition, mandatory=True)
    make_edition_module(edition=edition)
    user = make_user(country=Country.SERBIA, institution="Old", position="Old")
    before = utcnow()
    registration = register(
        user,
        edition,
        country="MK",
        institution="Министерство за информатичко општество",
        position="Head of Unit",
        module_ids=[agile.id],
        motivation="  Learn  ",
        needs="Vegetarian",
    )
    db.session.expire_all()
    assert user.country == Country.NORTH_MACEDONIA
    assert user.institution == "Министерство за информатичко општество"
    assert user.position == "Head of Unit"
    assert registration.consent_at >= before
    assert {em.id for em in registration.modules} == {agile.id, mandatory.id}
    assert registration.motivation == "Learn"
    assert registration.needs == "Vegetarian"
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "registration.created")
    )
    assert event.target_id == registration.id


@pytest.mark.parametrize(
    ("edition_kwargs", "code"),
    [
        ({"draft": True}, "edition_draft"),
        ({"past": True, "status": "archived"}, "edition_archived"),
        ({"past": True}, "registration_closed"),
        (
            {"registration_opens_at": utcnow() + timedelta(days=3)},
            "registration_not_open",
        ),
    ],
)
def test_registration_outside_window_or_unpublished_is_refused_and_writes_nothing(
    db, make_edition, make_user, edition_kwargs, code
):
    edition = make_edition(**edition_kwargs)
    with pytest.raises(RegistrationError) as exc:
        register(make_user(), edition)
    assert exc.value.code == code
    # The edition's page says the same: one predicate, and the refusal says why it said no.
    assert not edition.registration_is_open(utcnow())
    assert edition.why_registration_is_closed(utcnow()) == code
    assert 400 <= exc.value.status_code < 500
    assert registration_count(db) == 0
    assert emails(db) == []


def test_missing_consent_is_refused_and_profile_unchanged(db, make_edition, make_user):
    edition = make_edition()
    user = make_user(institution="Ministry of Interior")
    with pytest.raises(RegistrationError) as exc:
        registering.register(user, edition, consent=False, institution="Changed")
    assert exc.value.code == "consent_required"
    db.session.expire_all()
    assert user.institution == "Ministry of Interior"
    assert registration_count(db) == 0


def test_registering_twice_is_refused(db, make_edition, make_user):
    edition = make_edition()
    user = make_user()
    register(user, edition)
    with pytest.raises(RegistrationError) as exc:
        register(user, edition)
    assert exc.value.code == "already_registered"
    assert exc.value.status_code == 409
    assert registration_count(db) == 1


def test_module_choice_requires_modules_of_this_edition(
    db, make_edition, make_edition_module, make_user
):
    edition = make_edition(module_choice=True)
    make_edition_module(edition=edition)
    other = make_edition_module()
    with pytest.raises(RegistrationError) as exc:
        register(make_user(), edition, module_ids=[])
    assert exc.value.code == "module_required"
    with pytest.raises(RegistrationError) as exc:
        register(make_user(), edition, module_ids=[other.id])
    assert exc.value.code == "unknown_module"
    assert registration_count(db) == 0


def test_cancelling_an_accepted_seat_promotes_the_first_waitlisted(db, make_edition, make_user):
    edition = make_edition(capacity=1)
    first, second, third = make_user(), make_user(), make_user()
    seat = register(first, edition)
    register(second, edition)
    register(third, edition)
    promoted = registering.cancel(seat, first)
    assert [r.user_id for r in promoted] == [second.id]
    assert statuses(db, edition) == [("cancelled", None), ("accepted", None), ("waitlisted", 1)]
    promoted_mail = emails(db, "registration_promoted")
    assert [e.recipient for e in promoted_mail] == [second.email]
    assert [e.recipient for e in emails(db, "registration_cancelled")] == [first.email]


def test_cancelling_from_the_waiting_list_closes_the_gap(db, make_edition, make_user):
    edition = make_edition(capacity=1)
    regs = [register(make_user(), edition) for _ in range(4)]
    registering.cancel(regs[2], regs[2].user)
    assert statuses(db, edition) == [
        ("accepted", None),
        ("waitlisted", 1),
        ("cancelled", None),
        ("waitlisted", 2),
    ]


def test_cancelling_twice_is_refused(db, make_edition, make_user):
    edition = make_edition()
    registration = register(make_user(), edition)
    registering.cancel(registration, registration.user)
    with pytest.raises(RegistrationError) as exc:
        registering.cancel(registration, registration.user)
    assert exc.value.code == "already_cancelled"


def test_own_registration_hides_other_peoples(make_registration, make_user):
    registration = make_registration()
    with pytest.raises(RegistrationError) as exc:
        registering.own_registration(make_user(), registration.id)
    assert exc.value.status_code == 404


def test_fill_free_seats_promotes_in_order_renumbers_and_does_not_commit(
    db, make_edition, make_registration
):
    edition = make_edition(capacity=1)
    make_registration(edition=edition)
    waiting = [
        make_registration(
            edition=edition, status=RegistrationStatus.WAITLISTED, waitlist_position=p
        )
        for p in (2, 5, 7)  # positions with gaps still promote in order
    ]
    edition.capacity = 3
    promoted = seats.fill_free_seats(edition)
    assert [r.id for r in promoted] == [waiting[0].id, waiting[1].id]
    assert waiting[2].waitlist_position == 1
    assert [e.template for e in emails(db)] == ["registration_promoted"] * 2
    db.session.rollback()  # nothing was committed
    assert emails(db) == []
    assert statuses(db, edition)[1:] == [("waitlisted", 2), ("waitlisted", 5), ("waitlisted", 7)]


def test_staff_cannot_accept_past_capacity(db, make_edition, make_registration, make_user):
    staff = make_user(staff=True)
    edition = make_edition(capacity=2, moderated=True)
    make_registration(edition=edition)
    pending = [
        make_registration(edition=edition, status=RegistrationStatus.PENDING) for _ in range(2)
    ]
    with pytest.raises(RegistrationError) as exc:
        review.bulk_decide(edition, [r.id for r in pending], "accept", staff)
    assert exc.value.code == "over_capacity"
    assert statuses(db, edition) == [("accepted", None), ("pending", None), ("pending", None)]
    result = review.bulk_decide(edition, [pending[0].id], "accept", staff)
    assert result == {"changed": 1, "promoted": 0}
    assert statuses(db, edition)[1] == ("accepted", None)
    assert [e.recipient for e in emails(db, "registration_accepted")] == [pending[0].user.email]


def test_staff_bulk_waitlist_reject_and_cancel(db, make_edition, make_registration, make_user):
    staff = make_user(staff=True)
    edition = make_edition(capacity=5, moderated=True)
    regs = [make_registration(edition=edition, status=RegistrationStatus.PENDING) for _ in range(4)]
    review.bulk_decide(edition, [regs[0].id, regs[1].id], "waitlist", staff)
    review.bulk_decide(edition, [regs[2].id], "reject", staff, reason="Not a public servant")
    review.bulk_decide(edition, [regs[0].id], "accept", staff)
    review.bulk_decide(edition, [regs[3].id], "cancel", staff)
    assert statuses(db, edition) == [
        ("accepted", None),
        ("waitlisted", 1),
        ("rejected", None),
        ("cancelled", None),
    ]
    assert "number 2 on the waiting list" in emails(db, "registration_waitlisted")[1].body_text
    rejected = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "registration.rejected")
    )
    assert rejected.reason == "Not a public servant"
    assert rejected.actor_id == staff.id


def test_staff_cancelling_an_accepted_seat_promotes(db, make_edition, make_registration, make_user):
    staff = make_user(staff=True)
    edition = make_edition(capacity=1)
    seat = make_registration(edition=edition)
    waiting = make_registration(
        edition=edition, status=RegistrationStatus.WAITLISTED, waitlist_position=1
    )
    result = review.bulk_decide(edition, [seat.id], "cancel", staff)
    assert result == {"changed": 1, "promoted": 1}
    db.session.refresh(waiting)
    assert waiting.status == RegistrationStatus.ACCEPTED


def test_bulk_refuses_registrations_of_another_edition(make_edition, make_registration, make_user):
    staff = make_user(staff=True)
    other = make_registration(status=RegistrationStatus.PENDING)
    with pytest.raises(RegistrationError) as exc:
        review.bulk_decide(make_edition(), [other.id], "accept", staff)
    assert exc.value.code == "not_found"


def test_raising_capacity_promotes_lowering_below_accepted_is_refused(
    db, make_edition, make_registration, make_user
):
    staff = make_user(staff=True)
    edition = make_edition(capacity=2)
    for _ in range(2):
        make_registration(edition=edition)
    for position in (1, 2, 3):
        make_registration(
            edition=edition, status=RegistrationStatus.WAITLISTED, waitlist_position=position
        )
    promoted = review.set_capacity(edition, 4, staff)
    assert len(promoted) == 2
    assert statuses(db, edition)[2:] == [("accepted", None), ("accepted", None), ("waitlisted", 1)]
    with pytest.raises(RegistrationError) as exc:
        review.set_capacity(edition, 3, staff)
    assert exc.value.code == "capacity_below_accepted"
    db.session.refresh(edition)
    assert edition.capacity == 4


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_failing_smtp_keeps_the_registration_and_the_email_for_retry(
    app, db, make_edition, make_user, monkeypatch
):
    # An SMTP server that refuses connections (nothing listens on the port).
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", _closed_port())
    user = make_user()
    registration = register(user, make_edition())
    sent, failed = deliver_pending()
    assert (sent, failed) == (0, 1)
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).status == RegistrationStatus.ACCEPTED
    (email,) = emails(db)
    assert email.status == EmailStatus.PENDING
    assert email.attempts == 1
    assert "refused" in email.last_error.lower()
    assert email.next_attempt_at > utcnow()
    # The server is back: the retry delivers it.
    monkeypatch.undo()
    email.next_attempt_at = utcnow()
    db.session.commit()
    assert deliver_pending() == (1, 0)


def test_staff_search_folds_accents_and_cyrillic(db, make_edition, make_registration, make_user):
    edition = make_edition()
    colic = make_registration(edition=edition, user=make_user(full_name="Đorđe Čolić"))
    make_registration(edition=edition, user=make_user(full_name="Ана Петровић"))
    make_registration(
        edition=edition, user=make_user(full_name="Arben Hoxha", country=Country.KOSOVO)
    )
    query = review.registrations_query(edition, review.RegistrationFilters(q="colic"))
    assert [r.id for r in db.session.scalars(query)] == [colic.id]
    query = review.registrations_query(edition, review.RegistrationFilters(q="petrovic"))
    assert len(db.session.scalars(query).all()) == 1
    query = review.registrations_query(edition, review.RegistrationFilters(country="XK"))
    assert [r.user.full_name for r in db.session.scalars(query)] == ["Arben Hoxha"]


def test_staff_list_is_in_review_order_and_follows_status_changes(
    db, make_edition, make_registration, make_user
):
    edition = make_edition()
    statuses = ["cancelled", "accepted", "pending", "rejected", "accepted", "pending"]
    made = [
        make_registration(
            edition=edition, status=RegistrationStatus(s), user=make_user(full_name=f"Ana {n}")
        )
        for n, s in enumerate(statuses)
    ]

    def listed():
        query = review.registrations_query(edition, review.RegistrationFilters())
        return [(r.status.value, r.id) for r in db.session.scalars(query)]

    # Pending first, then accepted, then the rest; by name within each.
    assert [s for s, _ in listed()] == [
        "pending", "pending", "accepted", "accepted", "cancelled", "rejected"
    ]  # fmt: skip
    made[0].status = RegistrationStatus.PENDING  # the database re-ranks it
    db.session.commit()
    assert listed()[0] == ("pending", made[0].id)


def test_schedule_lists_chosen_modules_of_accepted_registrations_in_time_order(
    db, make_edition, make_edition_module, make_session, make_registration, make_user
):
    from icalendar import Calendar

    user = make_user()
    edition = make_edition(module_choice=True)
    chosen, skipped = make_edition_module(edition=edition), make_edition_module(edition=edition)
    later = make_session(edition_module=chosen)
    earlier = make_session(
        edition_module=chosen,
        starts_at=later.starts_at - timedelta(days=1),
        ends_at=later.starts_at - timedelta(days=1, hours=-2),
    )
    make_session(edition_module=skipped)
    make_registration(user=user, edition=edition, modules=[chosen])
    waitlisted = make_edition()
    make_session(edition_module=make_edition_module(edition=waitlisted))
    make_registration(
        user=user, edition=waitlisted, status=RegistrationStatus.WAITLISTED, waitlist_position=1
    )
    entries = calendars.my_schedule(user)
    assert [e.session.id for e in entries] == [earlier.id, later.id]
    calendar = Calendar.from_ical(calendars.schedule_ics(user))
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 2
    assert events[0].decoded("dtstart") == earlier.starts_at
    assert calendars.user_for_calendar_token(user.calendar_token) == user
    assert calendars.user_for_calendar_token("not-a-token") is None


def test_overview_and_exports_keep_cyrillic_and_add_the_kosovo_note(
    db, make_edition, make_registration, make_user
):
    import io

    from openpyxl import load_workbook

    edition = make_edition()
    make_registration(
        edition=edition,
        user=make_user(full_name="Марија Стојановска", country=Country.NORTH_MACEDONIA),
    )
    make_registration(
        edition=edition, user=make_user(full_name="Arben Hoxha", country=Country.KOSOVO)
    )
    data = review.overview(edition)
    assert {row.label: row.total for row in data["by_country"]} == {
        "North Macedonia": 1,
        "Kosovo*": 1,
    }
    assert data["show_kosovo_note"]
    text = exports.export_csv(edition).decode("utf-8-sig")
    assert "Марија Стојановска" in text
    assert "UNSCR 1244/1999" in text
    sheet = load_workbook(io.BytesIO(exports.export_xlsx(edition))).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Full name"
    assert {values[1][0], values[2][0]} == {"Марија Стојановска", "Arben Hoxha"}
    assert "UNSCR 1244/1999" in values[-1][0]


def test_accepted_count_ignores_other_statuses(db, make_edition, make_registration):
    edition = make_edition()
    make_registration(edition=edition)
    make_registration(edition=edition, status=RegistrationStatus.CANCELLED)
    assert seats.accepted_count(edition.id) == 1
