"""Attendance rules: tallies, rosters, self check-in, apologies, closing sessions.

Every rule that can say no raises AttendanceError with a stable `code`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from schoolmgr.errors import DomainError
from schoolmgr.extensions import db
from schoolmgr.models import (
    Attendance,
    AttendanceStatus,
    Edition,
    EditionModule,
    Registration,
    RegistrationStatus,
    Session,
    registration_modules,
    utcnow,
)


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


def tally_edition(edition: Edition, now: datetime | None = None) -> dict[int, AttendanceTally]:
    """Tally every accepted registration of `edition`, keyed by registration id (4 queries)."""
    now = now or utcnow()
    registration_ids = list(
        db.session.scalars(
            sa.select(Registration.id).where(
                Registration.edition_id == edition.id,
                Registration.status == RegistrationStatus.ACCEPTED,
            )
        )
    )
    if not registration_ids:
        return {}
    session_rows = db.session.execute(
        sa.select(Session.id, Session.ends_at, Session.edition_module_id)
        .join(EditionModule, Session.edition_module_id == EditionModule.id)
        .where(EditionModule.edition_id == edition.id)
    ).all()
    chosen: dict[int, set[int]] = defaultdict(set)
    if edition.module_choice:
        for reg_id, em_id in db.session.execute(
            sa.select(
                registration_modules.c.registration_id, registration_modules.c.edition_module_id
            )
            .join(Registration, Registration.id == registration_modules.c.registration_id)
            .where(
                Registration.edition_id == edition.id,
                Registration.status == RegistrationStatus.ACCEPTED,
            )
        ):
            chosen[reg_id].add(em_id)
    marks: dict[int, dict[int, AttendanceStatus]] = defaultdict(dict)
    for reg_id, session_id, status in db.session.execute(
        sa.select(Attendance.registration_id, Attendance.session_id, Attendance.status)
        .join(Registration, Registration.id == Attendance.registration_id)
        .where(
            Registration.edition_id == edition.id,
            Registration.status == RegistrationStatus.ACCEPTED,
        )
    ):
        marks[reg_id][session_id] = status
    tallies = {}
    for reg_id in registration_ids:
        sessions = [
            (s_id, ends_at)
            for s_id, ends_at, em_id in session_rows
            if not edition.module_choice or em_id in chosen[reg_id]
        ]
        tallies[reg_id] = _tally(
            reg_id, sessions, marks[reg_id], edition.excused_counts_as_attended, now
        )
    return tallies


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
