"""Who is on a session's roster, and the trainer's marking of it (live, or afterwards from the
paper sheet), closing and reopening sessions, and the printable sign-in sheet.

Every rule that can say no raises AttendanceError with a stable `code`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from schoolmgr import audit
from schoolmgr.attendance.errors import AttendanceError
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    Attendance,
    AttendanceMethod,
    AttendanceStatus,
    EditionModule,
    Registration,
    Session,
    User,
    utcnow,
)
from schoolmgr.pdf import render_pdf
from schoolmgr.registration.registering import (
    accepted_for_module,
    accepted_in,
    accepted_registration_for,
)
from schoolmgr.text import name_collation, search_terms
from schoolmgr.timeutils import fmt_date, fmt_time

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
    return accepted_for_module(
        sa.select(Registration)
        .join(User, User.id == Registration.user_id)
        .options(contains_eager(Registration.user))
        .order_by(User.name_order(), User.id),
        edition_module,
    )


def marks_of(session: Session) -> dict[int, Attendance]:
    """The session's marks keyed by registration id."""
    rows = db.session.scalars(sa.select(Attendance).where(Attendance.session_id == session.id))
    return {a.registration_id: a for a in rows}


# The roster page shows a few columns of hundreds of rows: one plain read-only record per
# participant, not ORM objects (building and tracking three mapped objects per participant cost
# more than the page), with its fields at hand for the template.
@dataclass(frozen=True, slots=True)
class RosterRow:
    registration_id: int
    full_name: str
    institution: str
    # The current mark, if any (all four None without one).
    status: AttendanceStatus | None
    method: AttendanceMethod | None
    recorded_at: datetime | None
    comment: str | None


def roster_query(
    session: Session, q: str = "", registration_id: int | None = None
) -> tuple[sa.Select, dict]:
    """Each expected participant (by name) with their current mark, as plain rows for
    `roster_rows`, and the select's bind parameters; `q` narrows it to names, e-mails or
    institutions holding every word."""
    module_choice = session.edition_module.edition.module_choice
    query = _roster_select(module_choice, name_collation())
    for term in search_terms(q):
        query = query.where(User.search_key.contains(term, autoescape=True))
    if registration_id is not None:
        query = query.where(Registration.id == registration_id)
    params = {"session_id": session.id, "edition_id": session.edition_module.edition_id}
    if module_choice:
        params["edition_module_id"] = session.edition_module_id
    return query, params


@cache
def _roster_select(module_choice: bool, collation: str) -> sa.Select:
    """The roster of any session (bind parameters `session_id`, `edition_id` and, with a
    choice of modules, `edition_module_id`), in `collation`'s order of names: built once per
    process for each, as every roster page runs it."""
    chosen = sa.bindparam("edition_module_id") if module_choice else None
    return accepted_in(
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
                Attendance.session_id == sa.bindparam("session_id"),
            ),
        )
        .order_by(User.sort_key_column(collation), User.id),
        sa.bindparam("edition_id"),
        chosen,
    )


def roster_rows(rows: list[sa.Row]) -> list[RosterRow]:
    """`roster_query` rows as read-only roster records."""
    return [RosterRow(*row) for row in rows]


def roster_row(session: Session, registration_id: int) -> RosterRow | None:
    """One participant's roster row (after marking them in place)."""
    query, params = roster_query(session, registration_id=registration_id)
    return next(iter(roster_rows(db.session.execute(query, params).all())), None)


def registration_for_session(user: User, session: Session) -> Registration | None:
    """The user's accepted registration that covers `session`, if any."""
    return accepted_registration_for(user, session.edition_module)


# --------------------------------------------------------------------------------------------
# Marking by the trainer (live, or afterwards from the paper sheet)

TRAINER_METHODS = (AttendanceMethod.TRAINER, AttendanceMethod.IMPORT)


def set_mark(
    session: Session,
    registration_id: int,
    status: AttendanceStatus,
    method: AttendanceMethod,
    by: User | None,
    now: datetime,
    existing: Attendance | None,
    comment: str | None = None,
) -> Attendance:
    """Record a mark (the caller commits); an unchanged status keeps its first recording."""
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
        set_mark(session, registration_id, status, method, by, now, before)
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
            set_mark(
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
    return render_pdf(
        "attendance/sheet_pdf.html",
        sign_in_sheet_context(session),
        stylesheet_paths=["css/signin-sheet.css"],
    )
