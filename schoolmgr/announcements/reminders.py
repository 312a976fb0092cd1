"""Session reminders and session-change emails.

Reminders: the day before an in-person session (time, place, map link), one hour before an
online one (the meeting link), to the accepted participants who attend it, with the session as
an iCalendar file. `flask reminders send` runs from cron every few minutes; a SessionReminder row
per (session, person, kind, start time) makes it idempotent, and a moved session is reminded
again at its new time.

Changes: when staff move or cancel a session, its accepted participants and trainers get one
email each saying what changed (old → new). Always sent, whatever the announcement opt-out.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from schoolmgr.extensions import db
from schoolmgr.i18n import in_language
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.mail import queue_email
from schoolmgr.models import (
    Edition,
    EditionFormat,
    EditionModule,
    EditionStatus,
    Registration,
    RegistrationStatus,
    ReminderKind,
    Session,
    SessionReminder,
    User,
    registration_modules,
)
from schoolmgr.registration.calendars import session_ics
from schoolmgr.timeutils import fmt_datetime, fmt_time
from schoolmgr.urls import site_url

WINDOWS = {
    ReminderKind.DAY_BEFORE: timedelta(hours=24),
    ReminderKind.HOUR_BEFORE: timedelta(hours=1),
}


def is_online(session: Session, edition: Edition) -> bool:
    """Online editions, and hybrid sessions with a link but no room, are met online."""
    if edition.format == EditionFormat.ONLINE:
        return True
    return edition.format == EditionFormat.HYBRID and bool(session.online_url) and not session.room


def reminder_kind(session: Session, edition: Edition) -> ReminderKind:
    return ReminderKind.HOUR_BEFORE if is_online(session, edition) else ReminderKind.DAY_BEFORE


def attendees(em: EditionModule) -> list[User]:
    """Accepted participants who attend the module (chosen it, or the edition has no choice)."""
    edition = em.edition
    statement = (
        sa.select(User)
        .join(Registration, Registration.user_id == User.id)
        .where(
            Registration.edition_id == edition.id,
            Registration.status == RegistrationStatus.ACCEPTED,
            User.active.is_(True),
        )
    )
    if edition.module_choice:
        chose_any = sa.select(registration_modules.c.registration_id).where(
            registration_modules.c.registration_id == Registration.id
        )
        chose_this = sa.select(registration_modules.c.registration_id).where(
            registration_modules.c.registration_id == Registration.id,
            registration_modules.c.edition_module_id == em.id,
        )
        statement = statement.where(sa.or_(~chose_any.exists(), chose_this.exists()))
    return list(db.session.scalars(statement.order_by(User.id)))


def _place(session: Session, edition: Edition) -> str:
    return ", ".join(p for p in (session.room, edition.venue) if p)


# --- reminders --------------------------------------------------------------------------------


def due_sessions(now: datetime) -> list[tuple[Session, ReminderKind]]:
    """Sessions of published editions whose reminder window is open at `now`."""
    horizon = now + max(WINDOWS.values())
    sessions = db.session.scalars(
        sa.select(Session)
        .join(Session.edition_module)
        .join(EditionModule.edition)
        .where(
            Edition.status == EditionStatus.PUBLISHED,
            Session.starts_at > now,
            Session.starts_at <= horizon,
        )
        .order_by(Session.starts_at, Session.id)
        .options(
            selectinload(Session.edition_module).selectinload(EditionModule.edition),
            selectinload(Session.edition_module).selectinload(EditionModule.module),
        )
    ).all()
    due = []
    for session in sessions:
        kind = reminder_kind(session, session.edition_module.edition)
        if session.starts_at - WINDOWS[kind] <= now:
            due.append((session, kind))
    return due


def send_reminders(now: datetime) -> int:
    """Queue every reminder due at `now` that was not sent before; return how many."""
    sent = 0
    for session, kind in due_sessions(now):
        em = session.edition_module
        edition = em.edition
        already = set(
            db.session.scalars(
                sa.select(SessionReminder.user_id).where(
                    SessionReminder.session_id == session.id,
                    SessionReminder.kind == kind,
                    SessionReminder.starts_at == session.starts_at,
                )
            )
        )
        for user in attendees(em):
            if user.id in already:
                continue
            try:
                with db.session.begin_nested():  # another run may have sent it this instant
                    reminder = SessionReminder(
                        session=session, user_id=user.id, kind=kind, starts_at=session.starts_at
                    )
                    db.session.add(reminder)
                    db.session.flush()
                    reminder.email = _queue_reminder(session, edition, em, user, kind, session_ics)
                    db.session.flush()
            except IntegrityError:
                continue
            sent += 1
        db.session.commit()
    return sent


def _queue_reminder(session, edition, em, user, kind, session_ics):
    online = kind == ReminderKind.HOUR_BEFORE
    subject = (
        _l("Starting in one hour: %(module)s", module=em.module.name)
        if online
        else _l("Tomorrow: %(module)s (%(edition)s)", module=em.module.name, edition=edition.title)
    )
    return queue_email(
        user,
        "session_reminder",
        subject,
        attachments=[
            ("session.ics", "text/calendar", session_ics(session, edition, em.module.name, user))
        ],
        user=user,
        edition=edition,
        session=session,
        module_name=em.module.name,
        online=online,
        place=_place(session, edition),
        link=(session.online_url or edition.online_url) if online else "",
        map_url=edition.map_url if not online else "",
    )


# --- session moved or cancelled ---------------------------------------------------------------


@dataclass
class SessionChange:
    session: Session
    old_starts: datetime
    old_ends: datetime
    old_room: str
    cancelled: bool = False

    @classmethod
    def before(cls, session: Session) -> "SessionChange":
        return cls(session, session.starts_at, session.ends_at, session.room)

    @property
    def changed(self) -> bool:
        s = self.session
        return self.cancelled or (s.starts_at, s.ends_at, s.room) != (
            self.old_starts,
            self.old_ends,
            self.old_room,
        )


def notify_changes(changes: list[SessionChange]) -> int:
    """One email per person concerned listing what changed (caller commits); return how many."""
    changes = [c for c in changes if c.changed]
    per_user: dict[int, tuple[User, list[SessionChange]]] = {}
    for change in changes:
        em = change.session.edition_module
        for user in [*attendees(em), *em.trainers]:
            entry = per_user.setdefault(user.id, (user, []))
            if change not in entry[1]:
                entry[1].append(change)
    for user, user_changes in per_user.values():
        edition = user_changes[0].session.edition_module.edition
        cancelled = all(c.cancelled for c in user_changes)
        subject = (
            _l("Session cancelled: %(t)s", t=edition.title)
            if cancelled
            else _l("Session changed: %(t)s", t=edition.title)
        )
        queue_email(
            user,
            "session_changed",
            subject,
            user=user,
            edition=edition,
            changes=_describe_all(user_changes, edition, user),
            schedule_url=site_url("registration.schedule"),
        )
    return len(per_user)


def _describe_all(changes: list[SessionChange], edition: Edition, user: User) -> list[dict]:
    """The changes with their times written in the recipient's language."""
    with in_language(user.preferred_language):
        return [_describe(c, edition) for c in changes]


def _describe(change: SessionChange, edition: Edition) -> dict:
    tz = edition.tz
    s = change.session
    old = f"{fmt_datetime(change.old_starts, tz)}–{fmt_time(change.old_ends, tz)}"
    if change.old_room:
        old += f", {change.old_room}"
    new = ""
    if not change.cancelled:
        new = f"{fmt_datetime(s.starts_at, tz)}–{fmt_time(s.ends_at, tz)}"
        if s.room:
            new += f", {s.room}"
    name = s.edition_module.module.name + (f": {s.title}" if s.title else "")
    return {"name": name, "old": old, "new": new, "cancelled": change.cancelled}
