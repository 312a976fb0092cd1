"""Attendance rules: roster marking, self check-in windows and codes, apologies, closing."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from schoolmgr.attendance import checkin as self_checkin
from schoolmgr.attendance import roster as rosters
from schoolmgr.attendance import summaries
from schoolmgr.attendance.errors import AttendanceError
from schoolmgr.extensions import db
from schoolmgr.models import (
    Attendance,
    AttendanceMethod,
    AttendanceStatus,
    AuditEvent,
    Country,
    RegistrationStatus,
    utcnow,
)


@pytest.fixture
def setup(make_edition, make_edition_module, make_session, make_registration, make_user):
    """An edition with module choice: Ana and Bojan take module A, Ćiril takes module B."""
    edition = make_edition(module_choice=True)
    trainer = make_user(trainer=True)
    mod_a = make_edition_module(edition=edition, trainers=[trainer])
    mod_b = make_edition_module(edition=edition)
    session = make_session(edition_module=mod_a)
    ana = make_registration(edition=edition, modules=[mod_a], user__full_name="Ana Anić")
    bojan = make_registration(edition=edition, modules=[mod_a], user__full_name="Bojan Bojić")
    ciril = make_registration(edition=edition, modules=[mod_b], user__full_name="Ћирил Ћирић")
    make_registration(
        edition=edition, modules=[mod_a], status=RegistrationStatus.PENDING
    )  # not on the roster
    return {
        "edition": edition,
        "trainer": trainer,
        "mod_a": mod_a,
        "mod_b": mod_b,
        "session": session,
        "ana": ana,
        "bojan": bojan,
        "ciril": ciril,
    }


def mark(session, registration):
    return db.session.scalar(
        db.select(Attendance).filter_by(session_id=session.id, registration_id=registration.id)
    )


# Roster ---------------------------------------------------------------------------------------


def roster(session, q=""):
    return rosters.roster_rows(db.session.execute(*rosters.roster_query(session, q)).all())


def test_roster_lists_accepted_participants_of_the_module(setup):
    rows = roster(setup["session"])
    assert [r.full_name for r in rows] == ["Ana Anić", "Bojan Bojić"]
    assert all(r.status is None for r in rows)


def test_roster_without_module_choice_lists_whole_edition(setup):
    setup["edition"].module_choice = False
    db.session.commit()
    names = [r.full_name for r in roster(setup["session"])]
    assert names == ["Ana Anić", "Bojan Bojić", "Ћирил Ћирић"]


def test_roster_search_finds_names_without_diacritics(setup):
    assert [r.full_name for r in roster(setup["session"], "bojic")] == ["Bojan Bojić"]
    assert roster(setup["session"], "nobody here") == []


def test_roster_row_of_one_participant(setup):
    ana = setup["ana"]
    row = rosters.roster_row(setup["session"], ana.id)
    assert row.full_name == "Ana Anić"
    assert rosters.roster_row(setup["session"], 10**6) is None


def test_save_marks_records_method_and_author(setup):
    s, ana, bojan = setup["session"], setup["ana"], setup["bojan"]
    changed = rosters.save_marks(
        s,
        {ana.id: AttendanceStatus.PRESENT, bojan.id: AttendanceStatus.LATE},
        by=setup["trainer"],
        method=AttendanceMethod.IMPORT,
    )
    assert changed == 2
    assert mark(s, ana).status == AttendanceStatus.PRESENT
    assert mark(s, bojan).method == AttendanceMethod.IMPORT
    assert mark(s, bojan).recorded_by == setup["trainer"]
    assert db.session.scalar(db.select(AuditEvent).filter_by(action="attendance.mark"))


def test_save_marks_refuses_strangers_and_saves_nothing(setup):
    s = setup["session"]
    with pytest.raises(AttendanceError) as exc:
        rosters.save_marks(
            s,
            {setup["ana"].id: AttendanceStatus.PRESENT, setup["ciril"].id: AttendanceStatus.LATE},
            by=setup["trainer"],
        )
    assert exc.value.code == "not_on_roster"
    assert mark(s, setup["ana"]) is None


def test_save_marks_refuses_self_checkin_method(setup):
    with pytest.raises(AttendanceError) as exc:
        rosters.save_marks(
            setup["session"], {}, by=setup["trainer"], method=AttendanceMethod.SELF_CHECKIN
        )
    assert exc.value.code == "bad_method"


def test_mark_all_present_keeps_existing_marks(setup, make_attendance):
    s = setup["session"]
    make_attendance(
        session=s,
        registration=setup["ana"],
        status=AttendanceStatus.EXCUSED,
        method=AttendanceMethod.APOLOGY,
    )
    assert rosters.mark_all_present(s, by=setup["trainer"]) == 1
    assert mark(s, setup["ana"]).status == AttendanceStatus.EXCUSED
    assert mark(s, setup["bojan"]).status == AttendanceStatus.PRESENT


def test_close_session_marks_unmarked_absent(setup, make_attendance):
    s = setup["session"]
    make_attendance(session=s, registration=setup["ana"])
    with pytest.raises(AttendanceError) as exc:
        rosters.close_session(s, by=setup["trainer"], now=s.starts_at - timedelta(minutes=1))
    assert exc.value.code == "not_started"

    assert rosters.close_session(s, by=setup["trainer"], now=s.ends_at) == 1
    assert mark(s, setup["bojan"]).status == AttendanceStatus.ABSENT
    assert mark(s, setup["ana"]).status == AttendanceStatus.PRESENT
    assert s.closed_at == s.ends_at


# Self check-in ---------------------------------------------------------------------------------


def user_of(reg):
    return reg.user


def test_typed_code_checks_in_present_then_is_idempotent(setup):
    s, ana = setup["session"], setup["ana"]
    with freeze_time(s.starts_at - timedelta(minutes=5)):
        result = self_checkin.check_in_with_code(user_of(ana), s.checkin_code.lower())
        assert not result.already
        again = self_checkin.check_in_with_code(user_of(ana), s.checkin_code)
        assert again.already
    attendance = mark(s, ana)
    assert attendance.status == AttendanceStatus.PRESENT
    assert attendance.method == AttendanceMethod.SELF_CHECKIN
    assert attendance.recorded_at == s.starts_at - timedelta(minutes=5)
    assert db.session.query(Attendance).count() == 1


def test_check_in_after_threshold_is_late(setup, app):
    s = setup["session"]
    late = app.config["CHECKIN_LATE_AFTER_MINUTES"]
    with freeze_time(s.starts_at + timedelta(minutes=late, seconds=1)):
        self_checkin.check_in_with_code(user_of(setup["ana"]), s.checkin_code)
    assert mark(s, setup["ana"]).status == AttendanceStatus.LATE


@pytest.mark.parametrize(
    ("offset_minutes", "code"),
    [(-31, "too_early"), (61, "too_late")],
)
def test_check_in_outside_window_is_refused(setup, offset_minutes, code):
    s = setup["session"]
    moment = s.starts_at + timedelta(minutes=offset_minutes)
    with freeze_time(moment), pytest.raises(AttendanceError) as exc:
        self_checkin.check_in_with_code(user_of(setup["ana"]), s.checkin_code)
    assert exc.value.code == code
    assert mark(s, setup["ana"]) is None


def test_window_edges_are_inside(setup):
    s = setup["session"]
    with freeze_time(s.starts_at - timedelta(minutes=30)):
        self_checkin.check_in_with_code(user_of(setup["ana"]), s.checkin_code)
    with freeze_time(s.starts_at + timedelta(minutes=60)):
        self_checkin.check_in_with_code(user_of(setup["bojan"]), s.checkin_code)
    assert mark(s, setup["bojan"]).status == AttendanceStatus.LATE


def test_wrong_or_empty_code_is_refused(setup):
    s = setup["session"]
    with freeze_time(s.starts_at):
        for typed, code in [("NOPE99", "wrong_code"), ("  ", "no_code")]:
            with pytest.raises(AttendanceError) as exc:
                self_checkin.check_in_with_code(user_of(setup["ana"]), typed)
            assert exc.value.code == code


def test_participant_of_another_module_is_refused(setup):
    s = setup["session"]
    with freeze_time(s.starts_at), pytest.raises(AttendanceError) as exc:
        self_checkin.check_in_with_code(user_of(setup["ciril"]), s.checkin_code)
    assert exc.value.code == "not_registered"


def test_closed_session_refuses_check_in(setup):
    s = setup["session"]
    rosters.close_session(s, by=setup["trainer"], now=s.starts_at)
    with freeze_time(s.starts_at + timedelta(minutes=1)), pytest.raises(AttendanceError) as exc:
        self_checkin.check_in_with_code(user_of(setup["ana"]), s.checkin_code)
    assert exc.value.code == "session_closed"


def test_check_in_turns_apology_into_presence(setup):
    s, ana = setup["session"], setup["ana"]
    self_checkin.send_apology(
        user_of(ana), s, "Flight delayed", now=s.starts_at - timedelta(hours=5)
    )
    with freeze_time(s.starts_at):
        self_checkin.check_in_with_code(user_of(ana), s.checkin_code)
    assert mark(s, ana).status == AttendanceStatus.PRESENT


def test_qr_token_rotates_and_previous_token_still_works(setup, app):
    s = setup["session"]
    period = app.config["CHECKIN_ROTATION_SECONDS"]
    issued_at = s.starts_at
    token = self_checkin.rotating_token(s, issued_at)
    assert self_checkin.rotating_token(s, issued_at + timedelta(seconds=period)) != token
    with freeze_time(issued_at + timedelta(seconds=period)):
        self_checkin.check_in_with_token(user_of(setup["ana"]), s, token)
    later = issued_at + timedelta(seconds=3 * period)
    with freeze_time(later), pytest.raises(AttendanceError) as exc:
        self_checkin.check_in_with_token(user_of(setup["bojan"]), s, token)
    assert exc.value.code == "expired_code"


def test_ensure_checkin_code_generates_once(setup):
    s = setup["session"]
    s.checkin_code = None
    db.session.commit()
    code = self_checkin.ensure_checkin_code(s)
    assert len(code) == 6
    assert self_checkin.ensure_checkin_code(s) == code


def test_closed_session_gets_no_check_in_code_and_only_closed_ones_reopen(setup):
    s, trainer = setup["session"], setup["trainer"]
    s.checkin_code = None
    db.session.commit()
    with pytest.raises(AttendanceError) as exc:
        rosters.reopen_session(s, by=trainer)
    assert exc.value.code == "not_closed"
    assert not db.session.scalar(sa.select(AuditEvent).filter_by(action="attendance.reopen"))

    rosters.close_session(s, by=trainer, now=s.starts_at)
    with pytest.raises(AttendanceError) as exc:
        self_checkin.ensure_checkin_code(s)
    assert exc.value.code == "session_closed" and s.checkin_code is None

    rosters.reopen_session(s, by=trainer)
    assert s.closed_at is None and self_checkin.ensure_checkin_code(s)


# Apologies ------------------------------------------------------------------------------------


def test_apology_before_start_is_excused_with_comment(setup):
    s, ana = setup["session"], setup["ana"]
    self_checkin.send_apology(
        user_of(ana), s, " Sick leave ", now=s.starts_at - timedelta(minutes=1)
    )
    attendance = mark(s, ana)
    assert attendance.status == AttendanceStatus.EXCUSED
    assert attendance.method == AttendanceMethod.APOLOGY
    assert attendance.comment == "Sick leave"


@pytest.mark.parametrize(
    ("who", "comment", "minutes_before", "code"),
    [
        ("ana", "Sick", 0, "apology_too_late"),
        ("ana", "   ", 10, "apology_needs_comment"),
        ("ciril", "Sick", 10, "not_registered"),
    ],
)
def test_apology_rules(setup, who, comment, minutes_before, code):
    s = setup["session"]
    with pytest.raises(AttendanceError) as exc:
        self_checkin.send_apology(
            user_of(setup[who]), s, comment, now=s.starts_at - timedelta(minutes=minutes_before)
        )
    assert exc.value.code == code


def test_apology_after_check_in_is_refused(setup):
    s, ana = setup["session"], setup["ana"]
    with freeze_time(s.starts_at - timedelta(minutes=10)):
        self_checkin.check_in_with_code(user_of(ana), s.checkin_code)
        with pytest.raises(AttendanceError) as exc:
            self_checkin.send_apology(user_of(ana), s, "Sorry")
    assert exc.value.code == "already_checked_in"


# Summaries ------------------------------------------------------------------------------------


def test_module_summary_and_csv(setup, make_attendance):
    s = setup["session"]
    setup["ana"].user.country = Country.KOSOVO
    setup["bojan"].user.full_name = "=HYPERLINK(1)"
    db.session.commit()
    make_attendance(session=s, registration=setup["ana"])
    rows, rate = summaries.module_summary(setup["mod_a"])
    assert [(r.tally.planned, r.tally.attended) for r in rows] == [(1, 0), (1, 1)]
    assert rate.percent == 50.0
    csv_text = summaries.summary_csv(rows)
    assert "'=HYPERLINK(1)" in csv_text
    assert "Kosovo*" in csv_text
    assert "UNSCR 1244" in csv_text


@pytest.mark.parametrize("module_choice", [True, False])
@pytest.mark.parametrize("excused_counts", [True, False])
def test_module_rate_counted_in_the_database_matches_the_full_summary(
    setup, make_session, make_attendance, make_registration, module_choice, excused_counts
):
    edition, mod_a = setup["edition"], setup["mod_a"]
    edition.module_choice = module_choice
    edition.excused_counts_as_attended = excused_counts
    s_a1, s_a2 = setup["session"], make_session(edition_module=mod_a)
    s_b1 = make_session(edition_module=setup["mod_b"])
    pending = make_registration(edition=edition, modules=[mod_a], status=RegistrationStatus.PENDING)
    db.session.commit()
    make_attendance(session=s_a1, registration=setup["ana"], status=AttendanceStatus.PRESENT)
    make_attendance(session=s_a2, registration=setup["ana"], status=AttendanceStatus.LATE)
    make_attendance(session=s_a1, registration=setup["bojan"], status=AttendanceStatus.EXCUSED)
    make_attendance(session=s_a2, registration=setup["bojan"], status=AttendanceStatus.ABSENT)
    # Ćiril on module A counts only without module choice; a pending one and module B never.
    make_attendance(session=s_a1, registration=setup["ciril"], status=AttendanceStatus.PRESENT)
    make_attendance(session=s_a1, registration=pending, status=AttendanceStatus.PRESENT)
    make_attendance(session=s_b1, registration=setup["ana"], status=AttendanceStatus.PRESENT)

    rows, summed = summaries.module_summary(mod_a)
    rate = summaries.module_rate(mod_a)

    fields = ("sessions", "planned", "credited", "participants")
    assert [getattr(rate, f) for f in fields] == [getattr(summed, f) for f in fields]
    participants = 2 if module_choice else 3
    assert (rate.sessions, rate.participants, rate.planned) == (2, participants, 2 * participants)
    assert rate.credited == 2 + excused_counts + (not module_choice)
    assert len(rows) == participants


def test_module_summary_rows_tally_one_page_like_the_full_summary(setup, make_attendance):
    mod_a = setup["mod_a"]
    make_attendance(session=setup["session"], registration=setup["bojan"])
    page = db.session.scalars(rosters.module_participants(mod_a).offset(1).limit(1)).all()
    assert [r.user.full_name for r in page] == ["Bojan Bojić"]

    now = utcnow()
    rows = summaries.module_summary_rows(mod_a, page, now)

    all_rows, _rate = summaries.module_summary(mod_a, now)
    assert [(r.registration, r.tally) for r in rows] == [
        (r.registration, r.tally) for r in all_rows[1:]
    ]
    assert rows[0].tally.attended == 1
    assert summaries.module_summary_rows(mod_a, []) == []


def test_edition_summary_has_rates_per_module(setup, make_attendance):
    make_attendance(session=setup["session"], registration=setup["ana"])
    rows, rates = summaries.edition_summary(setup["edition"])
    assert {r.registration.id for r in rows} == {
        setup["ana"].id,
        setup["bojan"].id,
        setup["ciril"].id,
    }
    assert [(r.sessions, r.planned, r.credited) for r in rates] == [(1, 2, 1), (0, 0, 0)]


def _rates_by_tally(edition):
    """Rates the long way, from each module's participants tallied in Python (the reference)."""
    rates = []
    for em in edition.edition_modules:
        rows, _rate = summaries.module_summary(em)
        planned = sum(row.tally.planned for row in rows)
        credited = sum(row.tally.credited for row in rows)
        rates.append((em.id, len(em.sessions), planned, credited))
    return rates


@pytest.mark.parametrize("module_choice", [True, False])
@pytest.mark.parametrize("excused_counts", [True, False])
def test_module_rates_counted_in_the_database_match_the_tallies(
    setup, make_session, make_attendance, module_choice, excused_counts
):
    edition = setup["edition"]
    edition.module_choice = module_choice
    edition.excused_counts_as_attended = excused_counts
    s_a1, s_b1 = setup["session"], make_session(edition_module=setup["mod_b"])
    s_b2 = make_session(edition_module=setup["mod_b"])
    db.session.commit()
    make_attendance(session=s_a1, registration=setup["ana"], status=AttendanceStatus.PRESENT)
    make_attendance(session=s_a1, registration=setup["bojan"], status=AttendanceStatus.EXCUSED)
    make_attendance(session=s_b1, registration=setup["ciril"], status=AttendanceStatus.LATE)
    make_attendance(session=s_b2, registration=setup["ciril"], status=AttendanceStatus.ABSENT)
    # Ana marked on a module she did not choose: counts only without module choice.
    make_attendance(session=s_b1, registration=setup["ana"], status=AttendanceStatus.PRESENT)

    rates = summaries.module_rates(edition)

    assert [(r.edition_module.id, r.sessions, r.planned, r.credited) for r in rates] == (
        _rates_by_tally(edition)
    )


def test_summary_rows_tally_one_page_over_the_whole_edition(setup, make_attendance):
    make_attendance(session=setup["session"], registration=setup["ana"])
    edition = setup["edition"]
    page = db.session.scalars(summaries.edition_participants(edition).limit(2)).unique().all()
    assert [r.user.full_name for r in page] == ["Ana Anić", "Bojan Bojić"]

    rows = summaries.summary_rows(edition, page)

    all_rows, _rates = summaries.edition_summary(edition)
    expected = {r.registration.id: r.tally for r in all_rows}
    assert [r.registration for r in rows] == page
    assert all(r.tally == expected[r.registration.id] for r in rows)
    assert rows[0].tally.attended == 1
