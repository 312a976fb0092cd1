"""Programme rules: edition dates, slugs, capacity, duplication, conflicts and dependants."""

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from schoolmgr.mail import deliver_pending
from schoolmgr.models import (
    AuditEvent,
    Edition,
    EditionModule,
    EditionStatus,
    RegistrationStatus,
    Role,
    Session,
    User,
)
from schoolmgr.programme import catalogue, editions, sessions, trainers
from schoolmgr.programme.errors import ProgrammeError
from schoolmgr.programme.sessions import SessionInput
from schoolmgr.timeutils import to_utc


def edition_values(**overrides):
    values = {
        "title": "Seasonal School on Digital Transformation 2027",
        "slug": "digital-transformation-2027",
        "series": "digital-transformation",
        "kind": "seasonal_school",
        "format": "in_person",
        "venue": "Danilovgrad, Montenegro",
        "online_url": "",
        "timezone": "Europe/Podgorica",
        "start_date": date(2027, 9, 13),
        "end_date": date(2027, 9, 17),
        "registration_opens_at": to_utc(date(2027, 5, 1), time(9), "Europe/Podgorica"),
        "registration_closes_at": to_utc(date(2027, 8, 31), time(23, 59), "Europe/Podgorica"),
        "capacity": 25,
        "registration_mode": "open",
        "module_choice": False,
        "description": "Five days on digital transformation.",
        "certificate_threshold": 80,
        "excused_counts_as_attended": True,
        "show_attendance_on_certificate": False,
        "signatories": [{"name": "Ana Anić", "title": "Director", "signature": ""}],
    }
    values.update(overrides)
    return values


def test_create_edition_stores_a_draft_with_every_field(db):
    edition = editions.create_edition(edition_values())

    stored = db.session.get(Edition, edition.id)
    assert stored.status == EditionStatus.DRAFT
    assert stored.venue == "Danilovgrad, Montenegro"
    assert stored.timezone == "Europe/Podgorica"
    assert stored.registration_closes_at == to_utc(
        date(2027, 8, 31), time(23, 59), "Europe/Podgorica"
    )
    assert stored.signatories[0]["name"] == "Ana Anić"
    assert db.session.scalar(sa.select(AuditEvent.action)) == "edition.created"


def test_slug_is_made_from_the_title_when_left_empty(db):
    edition = editions.create_edition(edition_values(slug="", title="Škola o Inovacijama 2027"))
    assert edition.slug == "skola-o-inovacijama-2027"


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"end_date": date(2027, 9, 12)}, "end_before_start", "end_date"),
        (
            {"registration_closes_at": to_utc(date(2027, 9, 18), time(9), "Europe/Podgorica")},
            "registration_closes_after_end",
            "registration_closes_date",
        ),
        (
            {"registration_opens_at": to_utc(date(2027, 9, 1), time(9), "Europe/Podgorica")},
            "registration_window_order",
            "registration_closes_date",
        ),
        ({"timezone": "Mars/Olympus"}, "bad_timezone", "timezone"),
    ],
)
def test_edition_rules_refuse_bad_dates(db, overrides, code, field):
    with pytest.raises(ProgrammeError) as exc:
        editions.create_edition(edition_values(**overrides))
    assert exc.value.code == code
    assert exc.value.problems[0][0] == field
    assert db.session.scalar(sa.select(sa.func.count(Edition.id))) == 0


def test_registration_may_close_on_the_last_evening(db):
    closes = to_utc(date(2027, 9, 17), time(23, 0), "Europe/Podgorica")
    assert editions.create_edition(edition_values(registration_closes_at=closes)).id


def test_taken_slug_is_refused_with_a_free_suggestion(db, make_edition):
    make_edition(slug="digital-transformation-2027")
    make_edition(slug="digital-transformation-2027-2")

    with pytest.raises(ProgrammeError) as exc:
        editions.create_edition(edition_values())

    assert exc.value.code == "slug_taken"
    assert exc.value.suggestion == "digital-transformation-2027-3"
    assert "digital-transformation-2027-3" in exc.value.message


def test_suggest_slug_keeps_a_free_slug(db):
    assert editions.suggest_slug("brand-new") == "brand-new"


def test_capacity_cannot_drop_below_accepted(db, make_edition, make_registration):
    edition = make_edition(capacity=3)
    for _ in range(3):
        make_registration(edition=edition)
    values = _values_of(edition, capacity=2)

    with pytest.raises(ProgrammeError) as exc:
        editions.update_edition(edition, values)

    assert exc.value.code == "capacity_below_accepted"
    db.session.rollback()
    assert db.session.get(Edition, edition.id).capacity == 3


def test_changing_dates_refuses_to_strand_sessions(db, make_session):
    session = make_session()
    edition = session.edition_module.edition
    later = edition.start_date + timedelta(days=1)

    with pytest.raises(ProgrammeError) as exc:
        editions.update_edition(edition, _values_of(edition, start_date=later))

    assert exc.value.code == "sessions_outside_dates"


def test_update_records_before_and_after(db, make_edition):
    edition = make_edition(venue="Budva")
    editions.update_edition(edition, _values_of(edition, venue="Tirana"))
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "edition.updated"))
    assert event.before == {"venue": "Budva"} and event.after == {"venue": "Tirana"}


def test_new_time_zone_keeps_sessions_at_their_local_clock_time(db, make_edition, make_session):
    edition = make_edition(timezone="Europe/Belgrade")
    day = edition.start_date
    first = make_session(
        edition_module__edition=edition,
        starts_at=to_utc(day, time(9, 0), "Europe/Belgrade"),
        ends_at=to_utc(day, time(10, 30), "Europe/Belgrade"),
    )

    editions.update_edition(edition, _values_of(edition, timezone="Europe/London"))

    db.session.refresh(first)
    london = ZoneInfo("Europe/London")
    assert first.starts_at.astimezone(london).time() == time(9, 0)
    assert first.ends_at.astimezone(london).time() == time(10, 30)
    assert first.starts_at.astimezone(london).date() == day


def _values_of(edition, **overrides):
    values = {name: getattr(edition, name) for name in editions.EDITION_FIELDS}
    values.update(overrides)
    return values


def test_publish_unpublish_archive(db, make_edition):
    edition = make_edition(draft=True)
    editions.set_status(edition, "publish")
    assert edition.status == EditionStatus.PUBLISHED and edition.published_at
    editions.set_status(edition, "unpublish")
    assert edition.status == EditionStatus.DRAFT
    editions.set_status(edition, "archive")
    assert edition.status == EditionStatus.ARCHIVED
    with pytest.raises(ProgrammeError) as exc:
        editions.set_status(edition, "archive")
    assert exc.value.code == "bad_transition"


def test_unpublishing_an_edition_with_registrations_is_refused(db, make_registration):
    registration = make_registration()
    with pytest.raises(ProgrammeError) as exc:
        editions.set_status(registration.edition, "unpublish")
    assert exc.value.code == "has_registrations"


# --- duplication --------------------------------------------------------------------------


def test_duplicate_copies_modules_trainers_and_shifted_sessions_only(
    db, make_edition, make_edition_module, make_session, make_user, make_attendance
):
    trainer = make_user(trainer=True)
    old = make_edition(
        past=True, series="digital-transformation", title="Digital Transformation 2019"
    )
    em = make_edition_module(edition=old, trainers=[trainer], mandatory=True)
    session = make_session(
        edition_module=em,
        starts_at=to_utc(date(2019, 9, 16), time(9, 30), "Europe/Belgrade"),
        ends_at=to_utc(date(2019, 9, 16), time(12, 30), "Europe/Belgrade"),
        room="Hall A",
    )
    make_attendance(session=session)
    retired = make_edition_module(edition=old)
    catalogue.set_module_retired(retired.module, True)

    # 2019-09-16 is summer time; 2020-01-13 is winter: wall-clock times must stay 09:30.
    new = editions.duplicate_edition(
        old, title="Digital Transformation 2020", slug="dt-2020", start_date=date(2020, 1, 13)
    )

    assert new.status == EditionStatus.DRAFT
    assert (new.start_date, new.end_date) == (date(2020, 1, 13), date(2020, 1, 17))
    assert new.series == "digital-transformation"
    assert [em.module_id for em in new.edition_modules] == [em.module_id]
    copied = new.edition_modules[0]
    assert copied.trainers == [trainer] and copied.mandatory
    [new_session] = copied.sessions
    assert new_session.starts_at == to_utc(date(2020, 1, 13), time(9, 30), "Europe/Belgrade")
    assert new_session.ends_at == to_utc(date(2020, 1, 13), time(12, 30), "Europe/Belgrade")
    assert new_session.room == "Hall A"
    assert new_session.checkin_secret != session.checkin_secret
    assert new.registration_closes_at.astimezone(new.tz).time() == time(23, 0)
    # Nothing of the participants' side travels with it; the original keeps its records.
    from schoolmgr.models import Attendance, Registration

    assert (
        db.session.scalar(
            sa.select(sa.func.count(Registration.id)).where(Registration.edition_id == new.id)
        )
        == 0
    )
    assert (
        db.session.scalar(
            sa.select(sa.func.count(Attendance.id)).where(Attendance.session_id == new_session.id)
        )
        == 0
    )
    assert len(old.edition_modules) == 2 and len(em.sessions) == 1


def test_duplicate_with_a_taken_slug_suggests_one(db, make_edition):
    old = make_edition(slug="school")
    with pytest.raises(ProgrammeError) as exc:
        editions.duplicate_edition(old, title="Again", slug="school", start_date=date(2030, 1, 1))
    assert exc.value.code == "slug_taken"
    assert exc.value.suggestion == "school-2"


@pytest.mark.parametrize("start", [date(9999, 12, 31), date(1, 1, 2)])
def test_duplicate_refuses_dates_whose_sessions_would_leave_the_calendar(db, make_session, start):
    """The form keeps days within the school's years; the service holds for any edition."""
    old = make_session().edition_module.edition
    editions_before = db.session.scalar(sa.select(sa.func.count()).select_from(Edition))
    with pytest.raises(ProgrammeError) as exc:
        editions.duplicate_edition(old, title="Far away", slug="far-away", start_date=start)
    assert exc.value.problems[0][::2] == ("start_date", "dates_out_of_range")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Edition)) == editions_before


# --- module catalogue and programme -------------------------------------------------------


def test_module_crud_and_retire(db, make_edition_module):
    module = catalogue.save_module(
        None, name="Human-Centered Change Management", slug="", summary="s", description="d"
    )
    assert module.slug == "human-centered-change-management"
    with pytest.raises(ProgrammeError) as exc:
        catalogue.save_module(None, name="Other", slug=module.slug, summary="", description="")
    assert exc.value.code == "slug_taken"

    em = make_edition_module(module=module)
    with pytest.raises(ProgrammeError) as exc:
        catalogue.delete_module(module)
    assert exc.value.code == "module_in_use"

    catalogue.set_module_retired(module, True)
    assert module.is_retired
    assert em.module is module  # still on the edition that used it
    with pytest.raises(ProgrammeError) as exc:
        catalogue.add_module(em.edition, module)
    assert exc.value.code in {"module_retired", "module_already_added"}


def test_unused_module_can_be_deleted(db, make_module):
    module = make_module()
    catalogue.delete_module(module)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EditionModule)) == 0


def test_add_module_appends_and_refuses_duplicates(db, make_edition, make_module):
    edition = make_edition()
    first, second = make_module(), make_module()
    catalogue.add_module(edition, first)
    em = catalogue.add_module(edition, second, mandatory=True)
    assert em.position == 1 and em.mandatory
    with pytest.raises(ProgrammeError) as exc:
        catalogue.add_module(edition, first)
    assert exc.value.code == "module_already_added"


def test_remove_module_refused_with_attendance(db, make_attendance):
    attendance = make_attendance()
    em = attendance.session.edition_module
    with pytest.raises(ProgrammeError) as exc:
        catalogue.remove_module(em)
    assert exc.value.code == "module_has_attendance"
    assert db.session.get(EditionModule, em.id) is not None


def test_remove_module_refused_when_registrations_chose_it(
    db, make_edition_module, make_registration
):
    em = make_edition_module()
    make_registration(edition=em.edition, modules=[em])
    with pytest.raises(ProgrammeError) as exc:
        catalogue.remove_module(em)
    assert exc.value.code == "module_chosen"


def test_remove_module_refused_with_materials(db, make_material):
    material = make_material()
    with pytest.raises(ProgrammeError) as exc:
        catalogue.remove_module(material.edition_module)
    assert exc.value.code == "module_has_materials"


def test_remove_module_without_dependants_removes_its_sessions(db, make_session):
    session = make_session()
    catalogue.remove_module(session.edition_module)
    assert db.session.scalar(sa.select(sa.func.count(Session.id))) == 0


def test_move_module_changes_the_order(db, make_edition, make_edition_module):
    edition = make_edition()
    a = make_edition_module(edition=edition, position=0)
    b = make_edition_module(edition=edition, position=1)
    db.session.refresh(edition)
    catalogue.move_module(b, "up")
    db.session.refresh(edition)
    assert edition.edition_modules == [b, a]


def test_only_trainers_can_be_assigned(db, make_edition_module, make_user):
    em = make_edition_module()
    trainer, participant = make_user(trainer=True), make_user()
    trainers.set_trainers(em, [trainer.id])
    assert em.trainers == [trainer]
    with pytest.raises(ProgrammeError) as exc:
        trainers.set_trainers(em, [trainer.id, participant.id])
    assert exc.value.code == "not_a_trainer"


# --- trainer invitations ------------------------------------------------------------------


def test_invite_a_new_trainer_who_sets_a_password_once(db, app, make_edition_module):
    app.config["BASE_URL"] = "https://school.example"
    em = make_edition_module()
    user = trainers.invite_trainer("Vesna.Trajkovska@Example.org", "Весна Трајковска", em)
    assert user.role == Role.TRAINER and user.password_hash is None
    assert em.trainers == [user]
    deliver_pending()
    [message] = app.extensions["outbox"]
    body = message.get_body(("plain",)).get_content()
    link = next(word for word in body.split() if "/staff/invitation/" in word)
    token = link.rsplit("/", 1)[1]

    trainers.accept_invitation(token, "a long enough password")
    assert db.session.get(User, user.id).check_password("a long enough password")
    with pytest.raises(ProgrammeError) as exc:
        trainers.accept_invitation(token, "another long password")
    assert exc.value.code == "invitation_invalid"


def test_invitation_link_tampered_or_expired(db, app, make_user, freezer=None):
    user = make_user(trainer=True, password_hash=None)
    with pytest.raises(ProgrammeError) as exc:
        trainers.user_for_invitation(trainers.invitation_token(user) + "x")
    assert exc.value.code == "invitation_invalid"
    from freezegun import freeze_time

    token = trainers.invitation_token(user)
    with freeze_time(timedelta(days=8)), pytest.raises(ProgrammeError) as exc:
        trainers.user_for_invitation(token)
    assert exc.value.code == "invitation_expired"


def test_inviting_a_participant_makes_them_a_trainer_and_staff_are_refused(db, make_user):
    participant = make_user()
    trainers.invite_trainer(participant.email, participant.full_name)
    assert participant.role == Role.TRAINER
    staff = make_user(staff=True)
    with pytest.raises(ProgrammeError) as exc:
        trainers.invite_trainer(staff.email, staff.full_name)
    assert exc.value.code == "email_taken"


# --- sessions -----------------------------------------------------------------------------


@pytest.fixture
def programme(make_edition, make_edition_module, make_user):
    """An edition 13-17 Sept 2027 with one module taught by one trainer."""
    trainer = make_user(trainer=True, full_name="Marko Marković")
    edition = make_edition(start_date=date(2027, 9, 13), end_date=date(2027, 9, 17))
    em = make_edition_module(edition=edition, trainers=[trainer])
    return edition, em, trainer


def test_session_is_stored_in_utc_from_the_edition_zone(db, programme):
    edition, em, _ = programme
    session = sessions.save_session(
        em, SessionInput(day=date(2027, 9, 13), start=time(9, 30), end=time(12), room="Hall A")
    )
    assert session.starts_at.hour == 7 and session.starts_at.minute == 30  # CEST is UTC+2


@pytest.mark.parametrize(
    ("day", "start", "end", "code"),
    [
        (date(2027, 9, 12), time(9), time(10), "session_outside_dates"),
        (date(2027, 9, 18), time(9), time(10), "session_outside_dates"),
        (date(2027, 9, 14), time(10), time(9), "session_ends_before_start"),
        (date(2027, 9, 14), time(10), time(10), "session_ends_before_start"),
    ],
)
def test_bad_session_times_are_refused(db, programme, day, start, end, code):
    _, em, _ = programme
    with pytest.raises(ProgrammeError) as exc:
        sessions.save_session(em, SessionInput(day=day, start=start, end=end))
    assert exc.value.code == code


def test_same_trainer_overlapping_is_flagged_then_saved_when_confirmed(
    db, programme, make_edition, make_edition_module
):
    edition, em, trainer = programme
    other_edition = make_edition(start_date=date(2027, 9, 13), end_date=date(2027, 9, 14))
    other = make_edition_module(edition=other_edition, trainers=[trainer])
    sessions.save_session(other, SessionInput(date(2027, 9, 13), time(11), time(13)))

    with pytest.raises(ProgrammeError) as exc:
        sessions.save_session(em, SessionInput(date(2027, 9, 13), time(9), time(11, 30)))
    assert exc.value.code == "conflicts"
    assert [c.kind for c in exc.value.conflicts] == ["trainer"]
    assert "Marko Marković" in exc.value.conflicts[0].message
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Session.id))) == 1

    sessions.save_session(em, SessionInput(date(2027, 9, 13), time(9), time(11, 30)), confirm=True)
    assert db.session.scalar(sa.select(sa.func.count(Session.id))) == 2


def test_back_to_back_sessions_do_not_conflict(db, programme):
    _, em, _ = programme
    sessions.save_session(em, SessionInput(date(2027, 9, 13), time(9), time(11), room="A"))
    sessions.save_session(em, SessionInput(date(2027, 9, 13), time(11), time(13), room="A"))


def test_same_room_double_booked_is_flagged(db, programme, make_edition_module):
    edition, em, _ = programme
    other = make_edition_module(edition=edition)
    sessions.save_session(other, SessionInput(date(2027, 9, 14), time(9), time(12), room="Hall A"))
    with pytest.raises(ProgrammeError) as exc:
        sessions.save_session(
            em, SessionInput(date(2027, 9, 14), time(10), time(11), room="hall a ")
        )
    assert [c.kind for c in exc.value.conflicts] == ["room"]


def test_editing_a_session_does_not_conflict_with_itself(db, programme):
    _, em, _ = programme
    session = sessions.save_session(
        em, SessionInput(date(2027, 9, 13), time(9), time(12), room="Hall A")
    )
    sessions.save_session(
        em, SessionInput(date(2027, 9, 13), time(9), time(12, 30), room="Hall A"), session=session
    )
    assert session.ends_at == to_utc(date(2027, 9, 13), time(12, 30), "Europe/Belgrade")


def test_session_with_attendance_cannot_be_deleted(db, make_attendance, make_session):
    attendance = make_attendance()
    with pytest.raises(ProgrammeError) as exc:
        sessions.delete_session(attendance.session)
    assert exc.value.code == "session_has_attendance"
    empty = make_session()
    sessions.delete_session(empty)
    assert db.session.get(Session, empty.id) is None


def test_move_session_swaps_time_slots(db, programme):
    _, em, _ = programme
    first = sessions.save_session(em, SessionInput(date(2027, 9, 13), time(9), time(10), title="A"))
    second = sessions.save_session(
        em, SessionInput(date(2027, 9, 14), time(14), time(16), title="B")
    )
    sessions.move_session(second, "up")
    assert second.starts_at == to_utc(date(2027, 9, 13), time(9), "Europe/Belgrade")
    assert second.ends_at - second.starts_at == timedelta(hours=2)
    assert first.starts_at == to_utc(date(2027, 9, 14), time(14), "Europe/Belgrade")
    db.session.refresh(em)
    assert [s.title for s in em.sessions] == ["B", "A"]


def test_schedule_days_groups_by_local_day(db, programme):
    edition, em, _ = programme
    sessions.save_session(em, SessionInput(date(2027, 9, 14), time(0, 30), time(1, 30)))
    days = sessions.schedule_days(edition, sessions.week_start(date(2027, 9, 15)), 7)
    assert days[0][0] == date(2027, 9, 13)
    assert len(days) == 7
    assert [len(sessions) for _day, sessions in days][:2] == [0, 1]


def test_raising_capacity_promotes_the_waiting_list_in_order(
    db, app, make_edition, make_registration, outbox
):
    edition = make_edition(capacity=1)
    make_registration(edition=edition)
    first = make_registration(
        edition=edition, status=RegistrationStatus.WAITLISTED, waitlist_position=1
    )
    second = make_registration(
        edition=edition, status=RegistrationStatus.WAITLISTED, waitlist_position=2
    )

    editions.update_edition(edition, _values_of(edition, capacity=2))
    deliver_pending()

    assert db.session.get(type(first), first.id).status == RegistrationStatus.ACCEPTED
    assert db.session.get(type(second), second.id).status == RegistrationStatus.WAITLISTED
    assert db.session.get(type(second), second.id).waitlist_position == 1
    assert [m["To"] for m in outbox] == [first.user.email]


def test_assigning_a_trainer_already_teaching_at_that_time_is_flagged(
    db, programme, make_edition_module, make_user
):
    edition, em, busy = programme
    sessions.save_session(em, SessionInput(date(2027, 9, 13), time(9), time(12)))
    other = make_edition_module(edition=edition)
    sessions.save_session(other, SessionInput(date(2027, 9, 13), time(11), time(13)))
    free = make_user(trainer=True)

    with pytest.raises(ProgrammeError) as exc:
        trainers.set_trainers(other, [busy.id])
    assert exc.value.code == "conflicts"
    assert "Marko Marković also teaches" in exc.value.conflicts[0].message
    db.session.rollback()

    trainers.set_trainers(other, [free.id])
    trainers.set_trainers(other, [free.id, busy.id], confirm=True)
    assert {t.id for t in other.trainers} == {free.id, busy.id}


def test_editing_signatories_keeps_their_signature_images(db, make_edition):
    edition = make_edition(
        signatories=[{"name": "Ana Anić", "title": "Director", "signature": "img/sig-ana.png"}]
    )
    editions.update_edition(
        edition,
        _values_of(
            edition,
            signatories=[
                {"name": "Ana Anić", "title": "Executive Director", "signature": ""},
                {"name": "Novi Potpisnik", "title": "Head", "signature": ""},
            ],
        ),
    )
    assert edition.signatories == [
        {"name": "Ana Anić", "title": "Executive Director", "signature": "img/sig-ana.png"},
        {"name": "Novi Potpisnik", "title": "Head", "signature": ""},
    ]


def test_a_slug_taken_at_the_last_moment_is_a_clear_refusal(db, make_edition):
    other = make_edition(slug="other")

    def another_request_takes_the_slug(session, _context, _instances):
        # Between our check and our insert, another save gives its edition the same address.
        session.connection().execute(
            sa.update(Edition.__table__).where(Edition.id == other.id).values(slug="raced")
        )

    sa.event.listen(db.session(), "before_flush", another_request_takes_the_slug, once=True)
    with pytest.raises(ProgrammeError) as exc:
        editions.create_edition(edition_values(slug="raced"))
    assert exc.value.code == "slug_taken"
    assert db.session.scalar(sa.select(sa.func.count(Edition.id))) == 1
