"""A participant's schedule: sessions of their accepted registrations, and its calendar feed."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from schoolmgr.extensions import db
from schoolmgr.models import (
    Edition,
    EditionModule,
    Registration,
    RegistrationStatus,
    Session,
    User,
    utcnow,
)
from schoolmgr.models.types import random_token
from schoolmgr.urls import base_url


@dataclass(frozen=True)
class ScheduleEntry:
    session: Session
    edition: Edition
    module_name: str


def my_schedule(user: User, from_time: datetime | None = None) -> list[ScheduleEntry]:
    """Sessions of the user's accepted registrations (their chosen modules), in time order."""
    registrations = db.session.scalars(
        sa.select(Registration)
        .where(
            Registration.user_id == user.id,
            Registration.status == RegistrationStatus.ACCEPTED,
        )
        .options(
            selectinload(Registration.edition)
            .selectinload(Edition.edition_modules)
            .selectinload(EditionModule.sessions),
            selectinload(Registration.edition)
            .selectinload(Edition.edition_modules)
            .selectinload(EditionModule.module),
            selectinload(Registration.modules),
        )
    ).all()
    entries = []
    for registration in registrations:
        edition = registration.edition
        chosen = {em.id for em in registration.modules}
        for em in edition.edition_modules:
            if edition.module_choice and chosen and em.id not in chosen:
                continue
            for session in em.sessions:
                if from_time is None or session.ends_at >= from_time:
                    entries.append(ScheduleEntry(session, edition, em.module.name))
    entries.sort(key=lambda e: (e.session.starts_at, e.session.position, e.session.id))
    return entries


def upcoming_and_past(
    entries: list[ScheduleEntry], now: datetime
) -> tuple[list[ScheduleEntry], list[ScheduleEntry]]:
    """The schedule split at `now`: sessions not yet ended (soonest first), and the ended ones
    (most recent first)."""
    upcoming = [e for e in entries if e.session.ends_at >= now]
    past = [e for e in entries if e.session.ends_at < now]
    return upcoming, past[::-1]


def user_for_calendar_token(token: str) -> User | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(
        sa.select(User).where(User.calendar_token == token, User.active.is_(True))
    )


def reset_calendar_token(user: User) -> None:
    """Give the user a new calendar feed address; the old one stops working at once."""
    user.calendar_token = random_token()
    db.session.commit()


def schedule_ics(user: User) -> bytes:
    """The user's schedule as an RFC 5545 calendar."""
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", "-//schoolmgr//Registration schedule//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{current_app.config['SCHOOL_NAME']}: {user.full_name}")
    stamp = utcnow()
    for entry in my_schedule(user):
        calendar.add_component(
            session_event(entry.session, entry.edition, entry.module_name, user, stamp)
        )
    return calendar.to_ical()


def session_event(session: Session, edition: Edition, module_name: str, user: User, stamp):
    """One session as an iCalendar event for `user` (the feed, reminders): same UID in both,
    so a calendar app that imported the reminder's file updates the same entry."""
    from icalendar import Event

    host = base_url().split("://", 1)[-1].split("/", 1)[0] or "schoolmgr"
    event = Event()
    event.add("uid", f"session-{session.id}-user-{user.id}@{host}")
    event.add("dtstamp", stamp)
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    summary = module_name + (f": {session.title}" if session.title else "")
    event.add("summary", summary)
    place = session.room or edition.venue
    if session.online_url or edition.online_url:
        place = ", ".join(p for p in (place, session.online_url or edition.online_url) if p)
    if place:
        event.add("location", place)
    event.add("description", edition.title)
    event.add("url", f"{base_url}/editions/{edition.slug}")
    return event


def session_ics(session: Session, edition: Edition, module_name: str, user: User) -> bytes:
    """A calendar file holding one session, to attach to a reminder."""
    from icalendar import Calendar

    calendar = Calendar()
    calendar.add("prodid", "-//schoolmgr//Session reminder//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(session_event(session, edition, module_name, user, utcnow()))
    return calendar.to_ical()
