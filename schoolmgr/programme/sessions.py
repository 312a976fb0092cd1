"""Sessions of an edition's modules: times, conflicts (trainer, room), changes, the schedule."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from schoolmgr.announcements.reminders import SessionChange, notify_changes
from schoolmgr.audit import record
from schoolmgr.errors import rolls_back
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    Attendance,
    Edition,
    EditionModule,
    EditionStatus,
    Session,
)
from schoolmgr.programme.errors import ProgrammeError
from schoolmgr.timeutils import SCHOOL_DAYS, to_utc


@dataclass(frozen=True)
class Conflict:
    kind: str  # "trainer" or "room"
    message: str
    other: Session


@dataclass
class SessionInput:
    day: date
    start: time
    end: time
    title: str = ""
    room: str = ""
    online_url: str = ""
    extra: dict = field(default_factory=dict)


def overlapping_sessions(starts: datetime, ends: datetime, exclude_id: int | None) -> sa.Select:
    query = (
        sa.select(Session)
        .join(EditionModule)
        .join(Edition)
        .where(Session.starts_at < ends, Session.ends_at > starts)
        .where(Edition.status != EditionStatus.ARCHIVED)
        .options(
            selectinload(Session.edition_module).selectinload(EditionModule.module),
            selectinload(Session.edition_module).selectinload(EditionModule.edition),
            selectinload(Session.edition_module).selectinload(EditionModule.trainers),
        )
    )
    if exclude_id is not None:
        query = query.where(Session.id != exclude_id)
    return query


def find_conflicts(
    em: EditionModule, starts: datetime, ends: datetime, room: str, exclude_id: int | None = None
) -> list[Conflict]:
    """Sessions that overlap: one of the same trainers, or the same room at the same venue."""
    conflicts = []
    trainer_ids = {t.id for t in em.trainers}
    room_key = room.strip().casefold()
    tz = em.edition.tz
    for other in db.session.scalars(overlapping_sessions(starts, ends, exclude_id)):
        when = (
            f"{other.starts_at.astimezone(tz):%Y-%m-%d %H:%M}–{other.ends_at.astimezone(tz):%H:%M}"
        )
        label = f"{other.edition_module.module.name} ({other.edition_module.edition.title}, {when})"
        shared = [t for t in other.edition_module.trainers if t.id in trainer_ids]
        for trainer in shared:
            conflicts.append(
                Conflict(
                    "trainer",
                    _(
                        "%(trainer)s also teaches %(other)s.",
                        trainer=trainer.full_name,
                        other=label,
                    ),
                    other,
                )
            )
        if (
            room_key
            and other.room.strip().casefold() == room_key
            and other.edition_module.edition.venue.strip().casefold()
            == em.edition.venue.strip().casefold()
        ):
            conflicts.append(
                Conflict(
                    "room", _("%(room)s is booked for %(other)s.", room=room, other=label), other
                )
            )
    return conflicts


def _session_times(em: EditionModule, data: SessionInput) -> tuple[datetime, datetime]:
    edition = em.edition
    if data.end <= data.start:
        raise ProgrammeError(
            _("A session must end after it starts."), "session_ends_before_start", field="end_time"
        )
    if not edition.start_date <= data.day <= edition.end_date:
        raise ProgrammeError(
            _(
                "The session is outside the edition's dates (%(start)s to %(end)s).",
                start=edition.start_date,
                end=edition.end_date,
            ),
            "session_outside_dates",
            field="day",
        )
    return to_utc(data.day, data.start, edition.tz), to_utc(data.day, data.end, edition.tz)


@rolls_back
def save_session(
    em: EditionModule,
    data: SessionInput,
    *,
    session: Session | None = None,
    confirm: bool = False,
) -> Session:
    """Add or change a session; overlaps are raised as `conflicts` unless staff confirmed."""
    starts, ends = _session_times(em, data)
    conflicts = find_conflicts(em, starts, ends, data.room, session.id if session else None)
    if conflicts and not confirm:
        raise ProgrammeError(
            _("This session overlaps with other sessions. Change it, or save it anyway."),
            "conflicts",
            409,
            conflicts=conflicts,
        )
    created = session is None
    if created:
        position = max((s.position for s in em.sessions), default=-1) + 1
        session = Session(edition_module=em, position=position)
        db.session.add(session)
    before = None if created else {"starts_at": session.starts_at.isoformat(), "room": session.room}
    change = None if created else SessionChange.before(session)
    session.starts_at, session.ends_at = starts, ends
    session.title, session.room = data.title.strip(), data.room.strip()
    session.online_url = data.online_url.strip()
    db.session.flush()
    record(
        "session.created" if created else "session.updated",
        target=session,
        edition_id=em.edition_id,
        summary=f"{em.module.name} {starts:%Y-%m-%d %H:%M} UTC"
        + (f" ({len(conflicts)} conflicts confirmed)" if conflicts else ""),
        before=before,
        after={"starts_at": starts.isoformat(), "room": session.room},
    )
    if change is not None:
        notify_changes([change])  # participants and trainers: one email each, old -> new
    db.session.commit()
    return session


@rolls_back
def delete_session(session: Session) -> None:
    """Delete a session that has no attendance marks."""
    marks = db.session.scalar(
        sa.select(sa.func.count(Attendance.id)).where(Attendance.session_id == session.id)
    )
    if marks:
        raise ProgrammeError(
            _(
                "This session has %(n)d attendance marks and cannot be deleted: they count "
                "towards certificates. Change its time or room instead.",
                n=marks,
            ),
            "session_has_attendance",
            409,
        )
    em = session.edition_module
    record(
        "session.deleted",
        target=session,
        edition_id=em.edition_id,
        summary=em.module.name,
        before={"starts_at": session.starts_at.isoformat(), "room": session.room},
    )
    cancelled = SessionChange.before(session)
    cancelled.cancelled = True
    notify_changes([cancelled])
    db.session.delete(session)
    db.session.commit()


def move_session(session: Session, direction: str) -> None:
    """Swap a session's time slot with the previous or next session of its module."""
    sessions = list(session.edition_module.sessions)
    index = sessions.index(session)
    other_index = index - 1 if direction == "up" else index + 1
    if not 0 <= other_index < len(sessions):
        return
    other = sessions[other_index]
    changes = [SessionChange.before(session), SessionChange.before(other)]
    a_len, b_len = session.ends_at - session.starts_at, other.ends_at - other.starts_at
    first_start = min(session.starts_at, other.starts_at)
    later_start = max(session.starts_at, other.starts_at)
    mover, stayer = (session, other) if direction == "up" else (other, session)
    # The one moving earlier takes the earlier slot's start; each keeps its own length.
    mover_len, stayer_len = (a_len, b_len) if mover is session else (b_len, a_len)
    mover.starts_at, mover.ends_at = first_start, first_start + mover_len
    stayer.starts_at, stayer.ends_at = later_start, later_start + stayer_len
    mover.position, stayer.position = (
        min(mover.position, stayer.position),
        max(mover.position, stayer.position),
    )
    notify_changes(changes)
    db.session.commit()


def schedule_days(edition: Edition, first: date, days: int) -> list[tuple[date, list[Session]]]:
    """Sessions of `days` local days from `first`, each day in time order."""
    tz = edition.tz
    starts = to_utc(first, time(0), tz)
    ends = to_utc(first + timedelta(days=days), time(0), tz)
    sessions = db.session.scalars(
        sa.select(Session)
        .join(EditionModule)
        .where(
            EditionModule.edition_id == edition.id,
            Session.starts_at >= starts,
            Session.starts_at < ends,
        )
        .order_by(Session.starts_at, Session.position)
        .options(
            selectinload(Session.edition_module).selectinload(EditionModule.module),
            selectinload(Session.edition_module).selectinload(EditionModule.trainers),
        )
    ).all()
    by_day: dict[date, list[Session]] = {first + timedelta(days=i): [] for i in range(days)}
    for s in sessions:
        by_day.setdefault(s.starts_at.astimezone(tz).date(), []).append(s)
    return sorted(by_day.items())


def schedule_day(text: str, edition: Edition) -> date:
    """The day a schedule link asks for (ISO), or the edition's first day when it names none or
    one outside the school's days (SCHOOL_DAYS)."""
    first, last = SCHOOL_DAYS
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = edition.start_date
    if not first <= day <= last:
        day = edition.start_date
    return min(max(day, first), last)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())
