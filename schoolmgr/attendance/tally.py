"""Attendance tallies: how many of their planned sessions each participant attended.

Certificates (schoolmgr.certificates.eligibility) and the attendance summaries count from
here. What counts as attended, and what is credited, is defined once on the model
(`ATTENDED_STATUSES`, `credited_statuses`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

from schoolmgr.extensions import db
from schoolmgr.models import (
    ATTENDED_STATUSES,
    Attendance,
    AttendanceStatus,
    Edition,
    EditionModule,
    Registration,
    RegistrationStatus,
    Session,
    credited_statuses,
    registration_modules,
    utcnow,
)


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


def count_marks(
    registration_id: int,
    sessions: list[tuple[int, datetime]],
    marks: dict[int, AttendanceStatus],
    excused_counts: bool,
    now: datetime,
) -> AttendanceTally:
    """Tally one registration's `marks` (session id -> status) over `sessions` (id, end)."""
    counts = {"attended": 0, "excused": 0, "absent": 0, "unmarked": 0}
    remaining = 0
    for session_id, ends_at in sessions:
        status = marks.get(session_id)
        if status in ATTENDED_STATUSES:
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


class ModuleCredit(NamedTuple):
    """One participant's credited sessions of a module, over all the module's sessions."""

    credited: int
    planned: int


@dataclass(frozen=True)
class EditionTallies:
    """Tallies of some registrations of an edition, with what per-module rules need."""

    tallies: dict[int, AttendanceTally]  # registration id -> tally
    chosen: dict[int, frozenset[int]] | None  # registration id -> chosen edition module ids;
    # None when the edition has no module choice (everyone follows every module)
    mandatory_credit: dict[int, dict[int, ModuleCredit]] = field(default_factory=dict)
    # registration id -> mandatory edition module id -> credit

    def chosen_modules(self, registration_id: int) -> frozenset[int] | None:
        """The modules the registration chose, or None when there is no choice."""
        if self.chosen is None:
            return None
        return self.chosen.get(registration_id, frozenset())


@dataclass
class _Marks:
    """An edition's sessions and the marks and module choices of some registrations."""

    registration_ids: list[int]
    sessions: list[tuple[int, datetime, int]]  # (session id, ends_at, edition module id)
    chosen: dict[int, set[int]]  # registration id -> chosen edition module ids
    marks: dict[int, dict[int, AttendanceStatus]]  # registration id -> session id -> status

    def planned(self, edition: Edition, registration_id: int) -> list[tuple[int, datetime]]:
        return [
            (session_id, ends_at)
            for session_id, ends_at, em_id in self.sessions
            if not edition.module_choice or em_id in self.chosen[registration_id]
        ]


def _load_marks(edition: Edition, registration_ids: list[int] | None) -> _Marks:
    """Everything a tally of the edition needs, in at most four queries.

    Without `registration_ids`: every accepted registration of the edition. With them: those
    registrations only, whatever their status (the caller chose them).
    """
    if registration_ids is None:
        whose = (
            Registration.edition_id == edition.id,
            Registration.status == RegistrationStatus.ACCEPTED,
        )
        registration_ids = list(db.session.scalars(sa.select(Registration.id).where(*whose)))
    else:
        whose = (Registration.edition_id == edition.id, Registration.id.in_(registration_ids))
    data = _Marks(registration_ids, [], defaultdict(set), defaultdict(dict))
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
            .where(*whose)
        ):
            data.chosen[reg_id].add(em_id)
    # Plain rows through the connection: no ORM result processing for (registrations x
    # sessions) rows, the bulk of a large edition's cost.
    for reg_id, session_id, status in db.session.connection().execute(
        sa.select(Attendance.registration_id, Attendance.session_id, Attendance.status)
        .join(Registration, Registration.id == Attendance.registration_id)
        .where(*whose)
    ):
        data.marks[reg_id][session_id] = status
    return data


def _tallies(edition: Edition, data: _Marks, now: datetime) -> dict[int, AttendanceTally]:
    return {
        reg_id: count_marks(
            reg_id,
            data.planned(edition, reg_id),
            data.marks[reg_id],
            edition.excused_counts_as_attended,
            now,
        )
        for reg_id in data.registration_ids
    }


def _mandatory_credit(edition: Edition, data: _Marks) -> dict[int, dict[int, ModuleCredit]]:
    """Per registration, the credit of every mandatory module (over all its sessions)."""
    module_ids = [em.id for em in edition.edition_modules if em.mandatory]
    if not module_ids:
        return {}
    sessions_of: dict[int, list[int]] = {em_id: [] for em_id in module_ids}
    for session_id, _ends, em_id in data.sessions:
        if em_id in sessions_of:
            sessions_of[em_id].append(session_id)
    credited = credited_statuses(edition.excused_counts_as_attended)
    result = {}
    for reg_id in data.registration_ids:
        marks = data.marks.get(reg_id, {})
        result[reg_id] = {
            em_id: ModuleCredit(
                sum(1 for s in session_ids if marks.get(s) in credited), len(session_ids)
            )
            for em_id, session_ids in sessions_of.items()
        }
    return result


def tally_edition(
    edition: Edition, now: datetime | None = None, *, registration_ids: list[int] | None = None
) -> dict[int, AttendanceTally]:
    """Tally every accepted registration of `edition` (or the given ones), keyed by
    registration id; at most four queries however many they are."""
    return _tallies(edition, _load_marks(edition, registration_ids), now or utcnow())


def edition_tallies(
    edition: Edition, now: datetime | None = None, *, registration_ids: list[int] | None = None
) -> EditionTallies:
    """As `tally_edition`, with each registration's chosen modules and the credit of every
    mandatory module: everything certificate eligibility counts from."""
    data = _load_marks(edition, registration_ids)
    return EditionTallies(
        tallies=_tallies(edition, data, now or utcnow()),
        chosen={reg_id: frozenset(data.chosen[reg_id]) for reg_id in data.registration_ids}
        if edition.module_choice
        else None,
        mandatory_credit=_mandatory_credit(edition, data),
    )


def tally_registration(registration: Registration, now: datetime | None = None) -> AttendanceTally:
    """Tally one registration (whatever its status) over its planned sessions."""
    tallies = tally_edition(registration.edition, now, registration_ids=[registration.id])
    return tallies[registration.id]
