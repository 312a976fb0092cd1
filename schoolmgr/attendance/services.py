"""Attendance rules: tallies, rosters, self check-in, apologies, closing sessions.

Every rule that can say no raises AttendanceError with a stable `code`.
"""

from __future__ import annotations

import base64
import csv
import hmac
import io
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, joinedload

from schoolmgr import audit
from schoolmgr.errors import DomainError
from schoolmgr.exports import spreadsheet_safe
from schoolmgr.extensions import db
from schoolmgr.models import (
    KOSOVO_FOOTNOTE,
    Attendance,
    AttendanceMethod,
    AttendanceStatus,
    Country,
    Edition,
    EditionModule,
    Registration,
    RegistrationStatus,
    Session,
    User,
    registration_modules,
    utcnow,
)
from schoolmgr.registration.services import accepted_registration_for
from schoolmgr.text import search_terms
from schoolmgr.timeutils import fmt_date, fmt_time


class AttendanceError(DomainError):
    """An attendance rule said no; `code` is stable."""


# --------------------------------------------------------------------------------------------
# Tallies (used by the summaries here and by certificate eligibility)


@dataclass(frozen=True)
class AttendanceTally:
    """Counts over the sessions a registration is planned to attend.

    Every planned session is in exactly one of `attended` (present or late), `excused`,
    `absent` or `unmarked` (no mark yet), so these four add up to `planned`. `remaining`
    counts, independently, the planned sessions that have not ended yet (marked or not).

    `percent` is over all planned sessions: 100 * credited / planned, where credited is
    `attended`, plus `excused` when the edition's `excused_counts_as_attended` is set
    (excused absences then count as attended; otherwise they count like absences).
    Unmarked and future sessions count as not attended. No planned sessions gives 0.0.
    """

    registration_id: int
    planned: int
    attended: int
    excused: int
    absent: int
    unmarked: int
    remaining: int
    excused_counts_as_attended: bool = True

    @property
    def credited(self) -> int:
        """Sessions that count in the participant's favour."""
        return self.attended + (self.excused if self.excused_counts_as_attended else 0)

    @property
    def percent(self) -> float:
        if not self.planned:
            return 0.0
        return 100 * self.credited / self.planned


def planned_sessions(registration: Registration) -> list[Session]:
    """Sessions of the chosen modules when the edition has module choice, else all of them."""
    query = (
        sa.select(Session)
        .join(EditionModule, Session.edition_module_id == EditionModule.id)
        .where(EditionModule.edition_id == registration.edition_id)
        .order_by(Session.starts_at, Session.position, Session.id)
    )
    if registration.edition.module_choice:
        chosen = sa.select(registration_modules.c.edition_module_id).where(
            registration_modules.c.registration_id == registration.id
        )
        query = query.where(Session.edition_module_id.in_(chosen))
    return list(db.session.scalars(query))


def _tally(
    registration_id: int,
    sessions: list[tuple[int, datetime]],
    marks: dict[int, AttendanceStatus],
    excused_counts: bool,
    now: datetime,
) -> AttendanceTally:
    counts = {"attended": 0, "excused": 0, "absent": 0, "unmarked": 0}
    remaining = 0
    for session_id, ends_at in sessions:
        status = marks.get(session_id)
        if status in (AttendanceStatus.PRESENT, AttendanceStatus.LATE):
            counts["attended"] += 1
        elif status is AttendanceStatus.EXCUSED:
            counts["excused"] += 1
        elif status is AttendanceStatus.ABSENT:
            counts["absent"] += 1
        else:
            counts["unmarked"] += 1
        if ends_at > now:
            remaining += 1
    return AttendanceTally(
        registration_id=registration_id,
        planned=len(sessions),
        remaining=remaining,
        excused_counts_as_attended=excused_counts,
        **counts,
    )


@dataclass
class _EditionData:
    registration_ids: list[int]
    sessions: list[tuple[int, datetime, int]]  # (session id, ends_at, edition module id)
    chosen: dict[int, set[int]]  # registration id -> chosen edition module ids
    marks: dict[int, dict[int, AttendanceStatus]]  # registration id -> session id -> status

    def planned(self, edition: Edition, registration_id: int) -> list[tuple[int, datetime, int]]:
        if not edition.module_choice:
            return self.sessions
        chosen = self.chosen[registration_id]
        return [row for row in self.sessions if row[2] in chosen]


EditionData = _EditionData


def _edition_data(edition: Edition, registration_ids: list[int] | None = None) -> _EditionData:
    """Everything a tally of the edition needs, in at most four queries.

    With `registration_ids` (one page of accepted participants), only theirs is loaded.
    """
    accepted = (
        Registration.edition_id == edition.id,
        Registration.status == RegistrationStatus.ACCEPTED,
    )
    if registration_ids is None:
        registration_ids = list(db.session.scalars(sa.select(Registration.id).where(*accepted)))
    else:
        accepted = (*accepted, Registration.id.in_(registration_ids))
    data = _EditionData(registration_ids, [], defaultdict(set), defaultdict(dict))
    if not registration_ids:
        return data
    data.sessions = [
        tuple(row)
        for row in db.session.execute(
            sa.select(Session.id, Session.ends_at, Session.edition_module_id)
            .join(EditionModule, Session.edition_module_id == EditionModule.id)
            .where(EditionModule.edition_id == edition.id)
        )
    ]
    if edition.module_choice:
        for reg_id, em_id in db.session.execute(
            sa.select(
                registration_modules.c.registration_id, registration_modules.c.edition_module_id
            )
            .join(Registration, Registration.id == registration_modules.c.registration_id)
            .where(*accepted)
        ):
            data.chosen[reg_id].add(em_id)
    # Plain rows through the connection: no ORM result processing for (registrations x
    # sessions) rows, the bulk of a large edition's cost.
    for reg_id, session_id, status in db.session.connection().execute(
        sa.select(Attendance.registration_id, Attendance.session_id, Attendance.status)
        .join(Registration, Registration.id == Attendance.registration_id)
        .where(*accepted)
    ):
        data.marks[reg_id][session_id] = status
    return data


def tally_edition(edition: Edition, now: datetime | None = None) -> dict[int, AttendanceTally]:
    """Tally every accepted registration of `edition`, keyed by registration id (4 queries)."""
    return _tallies(edition, _edition_data(edition), now or utcnow())


def tally_edition_data(
    edition: Edition, now: datetime | None = None
) -> tuple[EditionData, dict[int, AttendanceTally]]:
    """As `tally_edition`, with the loaded data too (sessions, chosen modules, marks), for rules
    that need more than the counts (certificate eligibility: mandatory modules)."""
    data = _edition_data(edition)
    return data, _tallies(edition, data, now or utcnow())


def _tallies(edition: Edition, data: _EditionData, now: datetime) -> dict[int, AttendanceTally]:
    return {
        reg_id: _tally(
            reg_id,
            [(s_id, ends_at) for s_id, ends_at, _em in data.planned(edition, reg_id)],
            data.marks[reg_id],
            edition.excused_counts_as_attended,
            now,
        )
        for reg_id in data.registration_ids
    }


def tally_registration(registration: Registration, now: datetime | None = None) -> AttendanceTally:
    """Tally one registration (whatever its status) over its planned sessions."""
    now = now or utcnow()
    sessions = planned_sessions(registration)
    marks = dict(
        db.session.execute(
            sa.select(Attendance.session_id, Attendance.status).where(
                Attendance.registration_id == registration.id
            )
        ).all()
    )
    return _tally(
        registration.id,
        [(s.id, s.ends_at) for s in sessions],
        marks,
        registration.edition.excused_counts_as_attended,
        now,
    )


# --------------------------------------------------------------------------------------------
# Who is on a session's roster


def roster_registrations(session: Session) -> list[Registration]:
    """Accepted registrations expected at `session`, by name (user loaded with them)."""
    return module_registrations(session.edition_module)


def module_registrations(edition_module: EditionModule) -> list[Registration]:
    """Accepted participants of the module (of the edition without module choice), by name."""
    return list(db.session.scalars(module_participants(edition_module)))


def module_participants(edition_module: EditionModule) -> sa.Select:
    """The module's accepted registrations with their users, by name: for `paginate`."""
    return _of_module(
        sa.select(Registration)
        .join(User, User.id == Registration.user_id)
        .options(contains_eager(Registration.user))
        .order_by(User.name_order(), User.id),
        edition_module,
    )


def _of_module(query: sa.Select, edition_module: EditionModule) -> sa.Select:
    """Restrict a query over registrations to the module's accepted participants."""
    query = query.where(
        Registration.edition_id == edition_module.edition_id,
        Registration.status == RegistrationStatus.ACCEPTED,
    )
    if edition_module.edition.module_choice:
        query = query.join(
            registration_modules, registration_modules.c.registration_id == Registration.id
        ).where(registration_modules.c.edition_module_id == edition_module.id)
    return query


def marks_of(session: Session) -> dict[int, Attendance]:
    """The session's marks keyed by registration id."""
    rows = db.session.scalars(sa.select(Attendance).where(Attendance.session_id == session.id))
    return {a.registration_id: a for a in rows}


# The roster page shows a few columns of hundreds of rows: plain read-only records, not ORM
# objects (building and tracking three mapped objects per participant cost more than the page).
@dataclass(frozen=True, slots=True)
class RosterPerson:
    full_name: str
    institution: str


@dataclass(frozen=True, slots=True)
class RosterRegistration:
    id: int
    user: RosterPerson


@dataclass(frozen=True, slots=True)
class RosterMark:
    status: AttendanceStatus
    method: AttendanceMethod
    recorded_at: datetime
    comment: str


@dataclass(frozen=True, slots=True)
class RosterRow:
    registration: RosterRegistration
    attendance: RosterMark | None

    @property
    def status(self) -> AttendanceStatus | None:
        return self.attendance.status if self.attendance else None


def roster_query(session: Session, q: str = "", registration_id: int | None = None) -> sa.Select:
    """Each expected participant (by name) with their current mark, as plain rows for
    `roster_rows`; `q` narrows it to names, e-mails or institutions holding every word."""
    query = _of_module(
        sa.select(
            Registration.id,
            User.full_name,
            User.institution,
            Attendance.status,
            Attendance.method,
            Attendance.recorded_at,
            Attendance.comment,
        )
        .join(User, User.id == Registration.user_id)
        .outerjoin(
            Attendance,
            sa.and_(
                Attendance.registration_id == Registration.id,
                Attendance.session_id == session.id,
            ),
        )
        .order_by(User.name_order(), User.id),
        session.edition_module,
    )
    for term in search_terms(q):
        query = query.where(User.search_key.contains(term, autoescape=True))
    if registration_id is not None:
        query = query.where(Registration.id == registration_id)
    return query


def roster_rows(rows: list[sa.Row]) -> list[RosterRow]:
    """`roster_query` rows as read-only roster records."""
    return [
        RosterRow(
            RosterRegistration(rid, RosterPerson(name, institution)),
            RosterMark(status, method, recorded_at, comment or "") if status else None,
        )
        for rid, name, institution, status, method, recorded_at, comment in rows
    ]


def roster_row(session: Session, registration_id: int) -> RosterRow | None:
    """One participant's roster row (after marking them in place)."""
    rows = db.session.execute(roster_query(session, registration_id=registration_id)).all()
    return next(iter(roster_rows(rows)), None)


def registration_for_session(user: User, session: Session) -> Registration | None:
    """The user's accepted registration that covers `session`, if any."""
    return accepted_registration_for(user, session.edition_module)


# --------------------------------------------------------------------------------------------
# Marking by the trainer (live, or afterwards from the paper sheet)

TRAINER_METHODS = (AttendanceMethod.TRAINER, AttendanceMethod.IMPORT)


def _set_mark(
    session: Session,
    registration_id: int,
    status: AttendanceStatus,
    method: AttendanceMethod,
    by: User | None,
    now: datetime,
    existing: Attendance | None,
    comment: str | None = None,
) -> Attendance:
    if existing is None:
        existing = Attendance(session_id=session.id, registration_id=registration_id)
        db.session.add(existing)
    elif existing.status == status and comment is None:
        return existing  # unchanged: keep how and when it was first recorded
    existing.status = status
    existing.method = method
    existing.recorded_by = by
    existing.recorded_at = now
    if comment is not None:
        existing.comment = comment
    return existing


def save_marks(
    session: Session,
    marks: dict[int, AttendanceStatus | None],
    *,
    by: User,
    method: AttendanceMethod = AttendanceMethod.TRAINER,
    now: datetime | None = None,
) -> int:
    """Save the roster in one transaction; returns how many marks changed.

    `marks` maps registration ids to a status; None leaves that participant as they are.
    Every id must be on the session's roster, or nothing is saved.
    """
    now = now or utcnow()
    if method not in TRAINER_METHODS:
        raise AttendanceError(_("Unknown way of recording marks."), "bad_method")
    expected = {r.id for r in roster_registrations(session)}
    strangers = set(marks) - expected
    if strangers:
        raise AttendanceError(
            _("Some participants are not on this session's roster; nothing was saved."),
            "not_on_roster",
        )
    existing = marks_of(session)
    changed = 0
    for registration_id, status in marks.items():
        if status is None:
            continue
        before = existing.get(registration_id)
        if before is not None and before.status == status:
            continue
        _set_mark(session, registration_id, status, method, by, now, before)
        changed += 1
    if changed:
        audit.record(
            "attendance.mark",
            target=session,
            actor=by,
            edition_id=session.edition_module.edition_id,
            summary=f"{changed} mark(s) by {method.value}",
        )
    db.session.commit()
    return changed


def marks_changed_since(session: Session, by: User, since: datetime) -> int:
    """How many participants' marks `by` set in this session since `since` (one visit)."""
    return db.session.scalar(
        sa.select(sa.func.count(Attendance.id)).where(
            Attendance.session_id == session.id,
            Attendance.recorded_by_id == by.id,
            Attendance.recorded_at >= since,
        )
    )


def mark_all_present(session: Session, *, by: User, now: datetime | None = None) -> int:
    """Mark everyone without a mark present (existing marks, e.g. apologies, stay)."""
    existing = marks_of(session)
    unmarked = {
        r.id: AttendanceStatus.PRESENT
        for r in roster_registrations(session)
        if r.id not in existing
    }
    return save_marks(session, unmarked, by=by, now=now)


def close_session(session: Session, *, by: User, now: datetime | None = None) -> int:
    """Close the session: everyone still without a mark becomes absent; returns how many."""
    now = now or utcnow()
    if now < session.starts_at:
        raise AttendanceError(_("A session can be closed only once it has started."), "not_started")
    existing = marks_of(session)
    count = 0
    for registration in roster_registrations(session):
        if registration.id not in existing:
            _set_mark(
                session,
                registration.id,
                AttendanceStatus.ABSENT,
                AttendanceMethod.TRAINER,
                by,
                now,
                None,
            )
            count += 1
    session.closed_at = session.closed_at or now
    audit.record(
        "attendance.close",
        target=session,
        actor=by,
        edition_id=session.edition_module.edition_id,
        summary=f"closed; {count} marked absent",
    )
    db.session.commit()
    return count


def reopen_session(session: Session, *, by: User) -> None:
    """Reopen a closed session for self check-in (marks stay as they are)."""
    if session.closed_at is None:
        raise AttendanceError(_("This session is already open for check-in."), "not_closed")
    session.closed_at = None
    audit.record(
        "attendance.reopen",
        target=session,
        actor=by,
        edition_id=session.edition_module.edition_id,
    )
    db.session.commit()


# --------------------------------------------------------------------------------------------
# Self check-in

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 6


def normalise_code(code: str) -> str:
    return "".join(c for c in (code or "").upper() if c.isalnum())


def ensure_checkin_code(session: Session) -> str:
    """Give the session a typed check-in code if it has none yet (unique among sessions)."""
    if session.closed_at is not None:
        raise AttendanceError(
            _("This session is closed: reopen it before starting self check-in."),
            "session_closed",
        )
    if not session.checkin_code:
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            taken = db.session.scalar(sa.select(Session.id).where(Session.checkin_code == code))
            if taken is None:
                break
        session.checkin_code = code
        db.session.commit()
    return session.checkin_code


@dataclass(frozen=True)
class CheckinWindow:
    opens_at: datetime
    late_after: datetime
    closes_at: datetime


def checkin_window(session: Session) -> CheckinWindow:
    """From CHECKIN_OPENS_MINUTES_BEFORE before the start to CHECKIN_CLOSES_MINUTES_AFTER after
    the start; check-ins after CHECKIN_LATE_AFTER_MINUTES past the start count as late."""
    config = current_app.config
    return CheckinWindow(
        opens_at=session.starts_at - timedelta(minutes=config["CHECKIN_OPENS_MINUTES_BEFORE"]),
        late_after=session.starts_at + timedelta(minutes=config["CHECKIN_LATE_AFTER_MINUTES"]),
        closes_at=session.starts_at + timedelta(minutes=config["CHECKIN_CLOSES_MINUTES_AFTER"]),
    )


def _rotation_step(now: datetime) -> int:
    return int(now.timestamp()) // current_app.config["CHECKIN_ROTATION_SECONDS"]


def _token_for_step(session: Session, step: int) -> str:
    mac = hmac.new(session.checkin_secret.encode(), f"{session.id}:{step}".encode(), "sha256")
    return base64.b32encode(mac.digest()[:10]).decode().rstrip("=")


def rotating_token(session: Session, now: datetime | None = None) -> str:
    """The token shown in the QR code right now; it changes every CHECKIN_ROTATION_SECONDS."""
    return _token_for_step(session, _rotation_step(now or utcnow()))


def token_is_fresh(session: Session, token: str, now: datetime) -> bool:
    """The current or the previous token (a scan just before the change still works)."""
    step = _rotation_step(now)
    return any(
        hmac.compare_digest(token or "", _token_for_step(session, s)) for s in (step, step - 1)
    )


@dataclass(frozen=True)
class CheckinResult:
    attendance: Attendance
    already: bool  # the participant had checked in before: nothing changed


def _check_in(user: User, session: Session, now: datetime) -> CheckinResult:
    registration = registration_for_session(user, session)
    if registration is None:
        raise AttendanceError(
            _("You are not registered for this module, so you cannot check in to its session."),
            "not_registered",
            status_code=403,
        )
    if session.closed_at is not None:
        raise AttendanceError(
            _("This session is closed; ask the trainer to record your attendance."),
            "session_closed",
            status_code=409,
        )
    window = checkin_window(session)
    if now < window.opens_at:
        raise AttendanceError(
            _(
                "Check-in has not opened yet: it opens %(minutes)d minutes before the session.",
                minutes=current_app.config["CHECKIN_OPENS_MINUTES_BEFORE"],
            ),
            "too_early",
            status_code=409,
        )
    if now > window.closes_at:
        raise AttendanceError(
            _("Check-in for this session has closed; ask the trainer to record your attendance."),
            "too_late",
            status_code=409,
        )
    existing = db.session.scalar(
        sa.select(Attendance).where(
            Attendance.session_id == session.id, Attendance.registration_id == registration.id
        )
    )
    if existing is not None and existing.status in (
        AttendanceStatus.PRESENT,
        AttendanceStatus.LATE,
    ):
        return CheckinResult(existing, already=True)
    status = AttendanceStatus.LATE if now > window.late_after else AttendanceStatus.PRESENT
    attendance = _set_mark(
        session, registration.id, status, AttendanceMethod.SELF_CHECKIN, user, now, existing, ""
    )
    db.session.commit()
    return CheckinResult(attendance, already=False)


def check_in_with_code(user: User, code: str, now: datetime | None = None) -> CheckinResult:
    """Check in with the typed code shown by the trainer (valid for the whole window)."""
    now = now or utcnow()
    code = normalise_code(code)
    if not code:
        raise AttendanceError(_("Type the code shown by the trainer."), "no_code")
    sessions = list(
        db.session.scalars(
            sa.select(Session)
            .where(Session.checkin_code == code)
            .options(joinedload(Session.edition_module).joinedload(EditionModule.edition))
        )
    )
    if not sessions:
        raise AttendanceError(
            _("This code is not right. Check it against the screen and try again."),
            "wrong_code",
        )
    mine = [s for s in sessions if registration_for_session(user, s) is not None]
    return _check_in(user, mine[0] if mine else sessions[0], now)


def check_in_with_token(
    user: User, session: Session, token: str, now: datetime | None = None
) -> CheckinResult:
    """Check in through the QR code, whose token is valid for about one rotation period."""
    now = now or utcnow()
    if not token_is_fresh(session, token, now):
        raise AttendanceError(
            _(
                "This QR code has expired. Scan the code on the screen again, or type the "
                "short code instead."
            ),
            "expired_code",
        )
    return _check_in(user, session, now)


# --------------------------------------------------------------------------------------------
# Apologies


def send_apology(
    user: User, session: Session, comment: str, now: datetime | None = None
) -> Attendance:
    """Excuse oneself from a session before it starts, with a comment for the trainer."""
    now = now or utcnow()
    comment = (comment or "").strip()
    registration = registration_for_session(user, session)
    if registration is None:
        raise AttendanceError(
            _("You are not registered for this module."), "not_registered", status_code=403
        )
    if now >= session.starts_at:
        raise AttendanceError(
            _("Apologies can be sent only before the session starts."), "apology_too_late"
        )
    if not comment:
        raise AttendanceError(
            _("Tell the trainer briefly why you cannot attend."), "apology_needs_comment"
        )
    existing = db.session.scalar(
        sa.select(Attendance).where(
            Attendance.session_id == session.id, Attendance.registration_id == registration.id
        )
    )
    if existing is not None and existing.status in (
        AttendanceStatus.PRESENT,
        AttendanceStatus.LATE,
    ):
        raise AttendanceError(
            _("You have already checked in to this session."), "already_checked_in"
        )
    attendance = _set_mark(
        session,
        registration.id,
        AttendanceStatus.EXCUSED,
        AttendanceMethod.APOLOGY,
        user,
        now,
        existing,
        comment[:1000],
    )
    db.session.commit()
    return attendance


# --------------------------------------------------------------------------------------------
# Summaries


@dataclass(frozen=True)
class SummaryRow:
    registration: Registration
    tally: AttendanceTally


@dataclass(frozen=True)
class ModuleRate:
    edition_module: EditionModule
    sessions: int
    planned: int  # participant-sessions
    credited: int
    participants: int = 0  # accepted participants planned at the module's sessions

    @property
    def percent(self) -> float:
        return 100 * self.credited / self.planned if self.planned else 0.0


def _registrations_with_users(ids) -> list[Registration]:
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Registration)
            .join(User, User.id == Registration.user_id)
            .where(Registration.id.in_(list(ids)))
            .options(contains_eager(Registration.user))
            .order_by(User.name_order(), User.id)
        )
    )


def edition_summary(
    edition: Edition, now: datetime | None = None
) -> tuple[list[SummaryRow], list[ModuleRate]]:
    """Per participant tallies over the whole edition (every row: the CSV export) and
    attendance rates per module."""
    now = now or utcnow()
    tallies = _tallies(edition, _edition_data(edition), now)
    rows = [SummaryRow(r, tallies[r.id]) for r in _registrations_with_users(tallies)]
    return rows, module_rates(edition)


def edition_participants(edition: Edition) -> sa.Select:
    """Accepted registrations of `edition` with their users, by name: for `paginate`."""
    return (
        sa.select(Registration)
        .join(User, User.id == Registration.user_id)
        .where(
            Registration.edition_id == edition.id,
            Registration.status == RegistrationStatus.ACCEPTED,
        )
        .options(contains_eager(Registration.user))
        .order_by(User.name_order(), User.id)
    )


def summary_rows(
    edition: Edition, registrations: list[Registration], now: datetime | None = None
) -> list[SummaryRow]:
    """Tallies over the whole edition of the given accepted registrations (one page of them),
    in their order; at most three queries however many they are."""
    if not registrations:
        return []
    data = _edition_data(edition, [r.id for r in registrations])
    tallies = _tallies(edition, data, now or utcnow())
    return [SummaryRow(r, tallies[r.id]) for r in registrations]


def module_rates(edition: Edition) -> list[ModuleRate]:
    """Attendance rate of each module of `edition`, counted in the database (four queries).

    A module's rate is the credited participant-sessions over the planned ones, counted the
    same way as the participants' percentages: every accepted participant (with module choice,
    those who chose the module) is planned at every session of the module.
    """
    accepted = (
        Registration.edition_id == edition.id,
        Registration.status == RegistrationStatus.ACCEPTED,
    )
    sessions = dict(
        db.session.execute(
            sa.select(Session.edition_module_id, sa.func.count(Session.id))
            .join(EditionModule, EditionModule.id == Session.edition_module_id)
            .where(EditionModule.edition_id == edition.id)
            .group_by(Session.edition_module_id)
        ).all()
    )
    credited_statuses = [AttendanceStatus.PRESENT, AttendanceStatus.LATE]
    if edition.excused_counts_as_attended:
        credited_statuses.append(AttendanceStatus.EXCUSED)
    credited_query = (
        sa.select(Session.edition_module_id, sa.func.count(Attendance.id))
        .join(Session, Session.id == Attendance.session_id)
        .join(EditionModule, EditionModule.id == Session.edition_module_id)
        .join(Registration, Registration.id == Attendance.registration_id)
        .where(
            EditionModule.edition_id == edition.id,
            Attendance.status.in_(credited_statuses),
            *accepted,
        )
        .group_by(Session.edition_module_id)
    )
    if edition.module_choice:
        participants = dict(
            db.session.execute(
                sa.select(registration_modules.c.edition_module_id, sa.func.count())
                .join(Registration, Registration.id == registration_modules.c.registration_id)
                .where(*accepted)
                .group_by(registration_modules.c.edition_module_id)
            ).all()
        )
        credited_query = credited_query.join(
            registration_modules,
            sa.and_(
                registration_modules.c.registration_id == Attendance.registration_id,
                registration_modules.c.edition_module_id == Session.edition_module_id,
            ),
        )
    else:
        everyone = db.session.scalar(sa.select(sa.func.count(Registration.id)).where(*accepted))
        participants = {em.id: everyone for em in edition.edition_modules}
    credited = dict(db.session.execute(credited_query).all())
    return [
        ModuleRate(
            em,
            sessions=sessions.get(em.id, 0),
            planned=sessions.get(em.id, 0) * participants.get(em.id, 0),
            credited=credited.get(em.id, 0),
            participants=participants.get(em.id, 0),
        )
        for em in edition.edition_modules
    ]


def module_summary(
    edition_module: EditionModule, now: datetime | None = None
) -> tuple[list[SummaryRow], ModuleRate]:
    """Every participant's tallies over this module's sessions only (the CSV export), and the
    module's rate; three queries however many participants."""
    rows = _module_rows(edition_module, module_registrations(edition_module), None, now)
    sessions = len(edition_module.sessions)
    rate = ModuleRate(
        edition_module,
        sessions=sessions,
        planned=sum(row.tally.planned for row in rows),
        credited=sum(row.tally.credited for row in rows),
        participants=len(rows),
    )
    return rows, rate


def module_summary_rows(
    edition_module: EditionModule, registrations: list[Registration], now: datetime | None = None
) -> list[SummaryRow]:
    """Tallies over the module's sessions of the given accepted registrations (one page of
    `module_participants`), in their order; at most two queries however many they are."""
    if not registrations:
        return []
    return _module_rows(edition_module, registrations, [r.id for r in registrations], now)


def _module_rows(
    edition_module: EditionModule,
    registrations: list[Registration],
    registration_ids: list[int] | None,
    now: datetime | None,
) -> list[SummaryRow]:
    """Tally `registrations` over the module's sessions; marks are loaded for
    `registration_ids` only, or for everyone when None (the whole module)."""
    now = now or utcnow()
    sessions = [(s.id, s.ends_at) for s in edition_module.sessions]
    marks: dict[int, dict[int, AttendanceStatus]] = defaultdict(dict)
    if sessions and registrations:
        query = (
            sa.select(Attendance.registration_id, Attendance.session_id, Attendance.status)
            .join(Session, Session.id == Attendance.session_id)
            .where(Session.edition_module_id == edition_module.id)
        )
        if registration_ids is not None:
            query = query.where(Attendance.registration_id.in_(registration_ids))
        for reg_id, session_id, status in db.session.connection().execute(query):
            marks[reg_id][session_id] = status
    excused_counts = edition_module.edition.excused_counts_as_attended
    return [
        SummaryRow(r, _tally(r.id, sessions, marks[r.id], excused_counts, now))
        for r in registrations
    ]


def module_rate(edition_module: EditionModule) -> ModuleRate:
    """The module's attendance rate over all its accepted participants, counted in the
    database in one query (the same count as summing `module_summary`'s tallies)."""
    edition = edition_module.edition
    credited_statuses = [AttendanceStatus.PRESENT, AttendanceStatus.LATE]
    if edition.excused_counts_as_attended:
        credited_statuses.append(AttendanceStatus.EXCUSED)
    sessions = (
        sa.select(sa.func.count(Session.id))
        .where(Session.edition_module_id == edition_module.id)
        .scalar_subquery()
    )
    participants = _of_module(
        sa.select(sa.func.count(Registration.id)), edition_module
    ).scalar_subquery()
    credited = _of_module(
        sa.select(sa.func.count(Attendance.id))
        .select_from(Attendance)
        .join(Registration, Registration.id == Attendance.registration_id)
        .join(Session, Session.id == Attendance.session_id)
        .where(
            Session.edition_module_id == edition_module.id,
            Attendance.status.in_(credited_statuses),
        ),
        edition_module,
    ).scalar_subquery()
    n_sessions, n_participants, n_credited = db.session.execute(
        sa.select(sessions, participants, credited)
    ).one()
    return ModuleRate(
        edition_module,
        sessions=n_sessions,
        planned=n_sessions * n_participants,
        credited=n_credited,
        participants=n_participants,
    )


def summary_csv(rows: list[SummaryRow]) -> str:
    """The summary as CSV, with the Kosovo* footnote when a participant is from Kosovo."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "Name",
            "Email",
            "Country",
            "Institution",
            "Planned",
            "Attended",
            "Excused",
            "Absent",
            "Unmarked",
            "Percent",
        ]
    )
    kosovo = False
    for row in rows:
        user, tally = row.registration.user, row.tally
        kosovo = kosovo or user.country == Country.KOSOVO
        writer.writerow(
            [
                spreadsheet_safe(user.full_name),
                spreadsheet_safe(user.email),
                str(user.country.label) if user.country else "",
                spreadsheet_safe(user.institution or ""),
                tally.planned,
                tally.attended,
                tally.excused,
                tally.absent,
                tally.unmarked,
                f"{tally.percent:.1f}",
            ]
        )
    if kosovo:
        writer.writerow([])
        writer.writerow([KOSOVO_FOOTNOTE])
    return out.getvalue()


def my_marks(user: User, edition_module: EditionModule) -> dict[int, Attendance]:
    """The user's marks for the module's sessions, keyed by session id."""
    session_ids = [s.id for s in edition_module.sessions]
    if not session_ids:
        return {}
    rows = db.session.scalars(
        sa.select(Attendance)
        .join(Registration, Registration.id == Attendance.registration_id)
        .where(Registration.user_id == user.id, Attendance.session_id.in_(session_ids))
    )
    return {a.session_id: a for a in rows}


# --------------------------------------------------------------------------------------------
# Printable sign-in sheet


def sign_in_sheet_context(session: Session, blank_rows: int = 3) -> dict:
    """Plain values for the sign-in sheet template."""
    edition_module = session.edition_module
    edition = edition_module.edition
    when = (
        f"{fmt_date(session.starts_at, edition.timezone)}, "
        f"{fmt_time(session.starts_at, edition.timezone)}–"
        f"{fmt_time(session.ends_at, edition.timezone)}"
    )
    return {
        "title": f"{edition_module.module.name} – {when}",
        "module_name": edition_module.module.name
        + (f" – {session.title}" if session.title else ""),
        "edition_title": edition.title,
        "when": when,
        "room": session.room,
        "trainers": ", ".join(t.full_name for t in edition_module.trainers),
        "people": [
            {"name": r.user.full_name, "institution": r.user.institution or ""}
            for r in roster_registrations(session)
        ],
        "blank_rows": blank_rows,
    }


def sign_in_sheet_pdf(session: Session) -> bytes:
    """The session's sign-in sheet as PDF bytes."""
    from schoolmgr.pdf import render_pdf

    return render_pdf(
        "attendance/sheet_pdf.html",
        sign_in_sheet_context(session),
        stylesheet_paths=["css/signin-sheet.css"],
    )
