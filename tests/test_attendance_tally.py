"""Attendance tallies: what certificates and summaries count."""

from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from schoolmgr.attendance.tally import (
    AttendanceTally,
    planned_sessions,
    tally_edition,
    tally_registration,
)
from schoolmgr.extensions import db
from schoolmgr.models import AttendanceStatus, RegistrationStatus


@contextmanager
def count_queries():
    counter = {"n": 0}

    def on_execute(*args, **kwargs):
        counter["n"] += 1

    sa.event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        yield counter
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", on_execute)


@pytest.fixture
def school(make_edition, make_edition_module, make_session):
    """An edition with two modules: A has 3 sessions, B has 2."""
    edition = make_edition(past=True)
    mod_a = make_edition_module(edition=edition)
    mod_b = make_edition_module(edition=edition)
    a_sessions = [make_session(edition_module=mod_a) for _ in range(3)]
    b_sessions = [make_session(edition_module=mod_b) for _ in range(2)]
    return edition, mod_a, mod_b, a_sessions, b_sessions


def test_all_sessions_planned_without_module_choice(school, make_registration, make_attendance):
    edition, _, _, a_sessions, b_sessions = school
    reg = make_registration(edition=edition)
    assert {s.id for s in planned_sessions(reg)} == {s.id for s in a_sessions + b_sessions}

    make_attendance(session=a_sessions[0], registration=reg, status=AttendanceStatus.PRESENT)
    make_attendance(session=a_sessions[1], registration=reg, status=AttendanceStatus.LATE)
    make_attendance(session=a_sessions[2], registration=reg, status=AttendanceStatus.EXCUSED)
    make_attendance(session=b_sessions[0], registration=reg, status=AttendanceStatus.ABSENT)

    tally = tally_registration(reg)
    assert tally == AttendanceTally(
        registration_id=reg.id,
        planned=5,
        attended=2,
        excused=1,
        absent=1,
        unmarked=1,
        remaining=0,
        excused_counts_as_attended=True,
    )
    # Excused counts as attended by default: 3 of 5.
    assert tally.percent == 60.0


def test_excused_counts_against_when_edition_says_so(school, make_registration, make_attendance):
    edition, _, _, a_sessions, _ = school
    edition.excused_counts_as_attended = False
    db.session.commit()
    reg = make_registration(edition=edition)
    make_attendance(session=a_sessions[0], registration=reg, status=AttendanceStatus.PRESENT)
    make_attendance(session=a_sessions[1], registration=reg, status=AttendanceStatus.EXCUSED)

    tally = tally_registration(reg)
    assert (tally.attended, tally.excused) == (1, 1)
    assert tally.percent == 20.0


def test_module_choice_counts_only_chosen_modules(
    school, make_registration, make_attendance, make_edition_module, make_session
):
    edition, mod_a, mod_b, a_sessions, _ = school
    edition.module_choice = True
    db.session.commit()
    reg = make_registration(edition=edition, modules=[mod_a])
    make_attendance(session=a_sessions[0], registration=reg)

    assert [s.id for s in planned_sessions(reg)] == sorted(s.id for s in a_sessions)
    tally = tally_registration(reg)
    assert (tally.planned, tally.attended, tally.unmarked) == (3, 1, 2)
    assert tally.percent == pytest.approx(100 / 3)


def test_remaining_counts_sessions_not_yet_ended(
    make_edition, make_edition_module, make_session, make_registration, make_attendance
):
    edition = make_edition()  # starts in 30 days
    em = make_edition_module(edition=edition)
    session = make_session(edition_module=em)
    reg = make_registration(edition=edition)
    make_attendance(session=session, registration=reg, status=AttendanceStatus.EXCUSED)

    before = tally_registration(reg)
    assert (before.planned, before.remaining, before.excused) == (1, 1, 1)
    after = tally_registration(reg, now=session.ends_at + timedelta(seconds=1))
    assert after.remaining == 0


def test_no_planned_sessions_is_zero_percent(make_edition, make_registration):
    reg = make_registration(edition=make_edition())
    tally = tally_registration(reg)
    assert tally.planned == 0
    assert tally.percent == 0.0


def test_tally_edition_matches_per_registration_tally_in_fixed_queries(
    school, make_registration, make_attendance
):
    edition, mod_a, mod_b, a_sessions, b_sessions = school
    edition.module_choice = True
    db.session.commit()
    regs = []
    for i in range(6):
        reg = make_registration(edition=edition, modules=[mod_a] if i % 2 else [mod_a, mod_b])
        make_attendance(session=a_sessions[i % 3], registration=reg)
        regs.append(reg)
    pending = make_registration(edition=edition, status=RegistrationStatus.PENDING)

    db.session.expire_all()
    assert edition.module_choice  # load the edition itself outside the count
    with count_queries() as queries:
        tallies = tally_edition(edition)
    assert queries["n"] <= 4
    assert pending.id not in tallies
    assert set(tallies) == {r.id for r in regs}
    for reg in regs:
        assert tallies[reg.id] == tally_registration(reg)
    assert tallies[regs[0].id].planned == 5
    assert tallies[regs[1].id].planned == 3


def test_tally_edition_without_accepted_registrations(school):
    edition = school[0]
    assert tally_edition(edition) == {}
