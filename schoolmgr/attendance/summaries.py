"""Attendance summaries for staff and trainers: each participant's tally over the edition or
one module (pages and CSV), attendance rates per module, and a participant's own marks.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from schoolmgr.attendance.roster import module_registrations
from schoolmgr.attendance.tally import AttendanceTally, count_marks, tally_edition
from schoolmgr.exports import spreadsheet_safe
from schoolmgr.extensions import db
from schoolmgr.models import (
    KOSOVO_FOOTNOTE,
    Attendance,
    AttendanceStatus,
    Country,
    Edition,
    EditionModule,
    Registration,
    RegistrationStatus,
    Session,
    User,
    credited_statuses,
    registration_modules,
    utcnow,
)
from schoolmgr.registration.registering import accepted_for_module


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
    tallies = tally_edition(edition, now)
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
    tallies = tally_edition(edition, now, registration_ids=[r.id for r in registrations])
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
    credited_marks = credited_statuses(edition.excused_counts_as_attended)
    credited_query = (
        sa.select(Session.edition_module_id, sa.func.count(Attendance.id))
        .join(Session, Session.id == Attendance.session_id)
        .join(EditionModule, EditionModule.id == Session.edition_module_id)
        .join(Registration, Registration.id == Attendance.registration_id)
        .where(
            EditionModule.edition_id == edition.id,
            Attendance.status.in_(credited_marks),
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
        SummaryRow(r, count_marks(r.id, sessions, marks[r.id], excused_counts, now))
        for r in registrations
    ]


def module_rate(edition_module: EditionModule) -> ModuleRate:
    """The module's attendance rate over all its accepted participants, counted in the
    database in one query (the same count as summing `module_summary`'s tallies)."""
    edition = edition_module.edition
    credited_marks = credited_statuses(edition.excused_counts_as_attended)
    sessions = (
        sa.select(sa.func.count(Session.id))
        .where(Session.edition_module_id == edition_module.id)
        .scalar_subquery()
    )
    participants = accepted_for_module(
        sa.select(sa.func.count(Registration.id)), edition_module
    ).scalar_subquery()
    credited = accepted_for_module(
        sa.select(sa.func.count(Attendance.id))
        .select_from(Attendance)
        .join(Registration, Registration.id == Attendance.registration_id)
        .join(Session, Session.id == Attendance.session_id)
        .where(
            Session.edition_module_id == edition_module.id,
            Attendance.status.in_(credited_marks),
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
