"""Session reminders (`flask reminders send`) and the email when staff move or cancel a session."""

import email
import email.policy
from datetime import UTC, datetime, time, timedelta

import icalendar
import pytest
import sqlalchemy as sa
from freezegun import freeze_time

from schoolmgr.extensions import db
from schoolmgr.models import (
    EditionFormat,
    OutboundEmail,
    RegistrationStatus,
    Role,
    SessionReminder,
)
from schoolmgr.timeutils import to_utc
from tests import factories as F  # noqa: N812


def parsed(message) -> email.message.EmailMessage:
    return email.message_from_bytes(bytes(message), policy=email.policy.default)


def text_of(message) -> str:
    return parsed(message).get_body(preferencelist=("plain",)).get_content()


def calendar_of(message) -> icalendar.Calendar:
    (part,) = [p for p in parsed(message).iter_attachments() if p.get_filename() == "session.ics"]
    return icalendar.Calendar.from_ical(part.get_content())


START = datetime(2026, 9, 14, 7, 30, tzinfo=UTC)  # 09:30 in Belgrade (summer time)


@pytest.fixture
def in_person(app):
    edition = F.EditionFactory(
        title="Seasonal School in Budva",
        start_date=START.date(),
        end_date=START.date() + timedelta(days=4),
        registration_opens_at=START - timedelta(days=60),
        registration_closes_at=START - timedelta(days=2),
        venue="Hotel Splendid, Budva",
    )
    edition.map_url = "https://www.openstreetmap.org/?mlat=42.28&mlon=18.84"
    trainer = F.UserFactory(role=Role.TRAINER, full_name="Tijana Trainer")
    em = F.EditionModuleFactory(
        edition=edition, module=F.ModuleFactory(name="Agile"), trainers=[trainer]
    )
    session = F.SessionFactory(edition_module=em, starts_at=START, room="Hall A")
    accepted = F.RegistrationFactory(edition=edition, user=F.UserFactory(full_name="Ana Ivanović"))
    waiting = F.RegistrationFactory(
        edition=edition, status=RegistrationStatus.WAITLISTED, waitlist_position=1
    )
    db.session.commit()
    return {
        "edition": edition,
        "em": em,
        "session": session,
        "accepted": accepted,
        "waiting": waiting,
        "trainer": trainer,
    }


def run_reminders(runner):
    result = runner.invoke(args=["reminders", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def test_day_before_reminder_is_sent_once_with_place_map_and_calendar(in_person, runner, outbox):
    with freeze_time(START - timedelta(hours=25)):
        assert "reminders=0" in run_reminders(runner)
    with freeze_time(START - timedelta(hours=23)):
        assert "reminders=1" in run_reminders(runner)
        assert "reminders=0" in run_reminders(runner)  # the same clock time: nothing twice
    assert len(outbox) == 1
    message = outbox[0]
    assert message["To"] == in_person["accepted"].user.email
    body = text_of(message)
    assert "Tomorrow: Agile" in body
    assert "14 Sept 2026, 09:30–12:30" in body or "14 Sep 2026, 09:30–12:30" in body
    assert "Hall A, Hotel Splendid, Budva" in body
    assert "https://www.openstreetmap.org/?mlat=42.28&mlon=18.84" in body
    (event,) = calendar_of(message).walk("VEVENT")
    assert event.decoded("dtstart") == START
    assert str(event["location"]).startswith("Hall A")


def test_online_reminder_an_hour_before_with_the_link_for_accepted_only(app, runner, outbox):
    edition = F.EditionFactory(
        format=EditionFormat.ONLINE,
        start_date=START.date(),
        end_date=START.date(),
        registration_opens_at=START - timedelta(days=60),
        registration_closes_at=START - timedelta(days=2),
        online_url="https://meet.example.org/agile",
    )
    em = F.EditionModuleFactory(edition=edition)
    F.SessionFactory(edition_module=em, starts_at=START, room="")
    accepted = F.RegistrationFactory(edition=edition)
    F.RegistrationFactory(edition=edition, status=RegistrationStatus.PENDING)
    with freeze_time(START - timedelta(hours=2)):
        assert "reminders=0" in run_reminders(runner)
    with freeze_time(START - timedelta(minutes=55)):
        assert "reminders=1" in run_reminders(runner)
        assert "reminders=0" in run_reminders(runner)
    (message,) = outbox
    assert message["To"] == accepted.user.email
    assert "https://meet.example.org/agile" in text_of(message)
    assert "starts in one hour" in text_of(message)


def test_module_choice_decides_who_is_reminded(in_person, runner, outbox):
    edition = in_person["edition"]
    edition.module_choice = True
    other_em = F.EditionModuleFactory(edition=edition)
    chose_other = F.RegistrationFactory(edition=edition, modules=[other_em])
    db.session.commit()
    with freeze_time(START - timedelta(hours=2)):
        run_reminders(runner)
    recipients = {m["To"] for m in outbox}
    assert in_person["accepted"].user.email in recipients  # chose nothing: attends all
    assert chose_other.user.email not in recipients


def _edit(client, session, **changes):
    tz = session.edition_module.edition.tz
    local_start = session.starts_at.astimezone(tz)
    data = {
        "day": local_start.date().isoformat(),
        "start_time": local_start.strftime("%H:%M"),
        "end_time": session.ends_at.astimezone(tz).strftime("%H:%M"),
        "title": session.title,
        "room": session.room,
        "online_url": session.online_url,
        "confirm_conflicts": "y",
    }
    data.update(changes)
    return client.post(f"/staff/sessions/{session.id}/edit", data=data)


def test_a_moved_session_emails_participants_and_trainers_once_with_old_and_new(
    in_person, client, login, outbox
):
    login(role=Role.STAFF)
    response = _edit(client, in_person["session"], start_time="14:00", end_time="17:00")
    assert response.status_code == 302
    recipients = sorted(m["To"] for m in outbox)
    assert recipients == sorted([in_person["accepted"].user.email, in_person["trainer"].email])
    body = text_of(outbox[0])
    assert "Was: 14 Sep" in body or "Was: 14 Sept" in body
    assert "09:30–12:30, Hall A" in body and "14:00–17:00, Hall A" in body

    # Saving without a change emails nobody.
    _edit(client, in_person["session"])
    assert len(outbox) == 2

    # The calendar feed shows the new time.
    feed = client.get(f"/calendar/{in_person['accepted'].user.calendar_token}.ics")
    (event,) = icalendar.Calendar.from_ical(feed.data).walk("VEVENT")
    assert event.decoded("dtstart") == to_utc(START.date(), time(14), "Europe/Belgrade")


def test_a_cancelled_session_emails_the_same_people(in_person, client, login, outbox):
    login(role=Role.STAFF)
    response = client.post(f"/staff/sessions/{in_person['session'].id}/delete")
    assert response.status_code == 302
    assert len(outbox) == 2
    assert all("Cancelled (was" in text_of(m) for m in outbox)
    assert outbox[0]["Subject"].startswith("Session cancelled")


def test_a_moved_session_is_reminded_again_at_its_new_time(in_person, runner, outbox):
    with freeze_time(START - timedelta(hours=2)):
        run_reminders(runner)
    session = in_person["session"]
    session.starts_at += timedelta(days=1)
    session.ends_at += timedelta(days=1)
    db.session.commit()
    with freeze_time(START - timedelta(hours=1)):
        assert "reminders=0" in run_reminders(runner)
    with freeze_time(START + timedelta(hours=22)):
        assert "reminders=1" in run_reminders(runner)
    assert db.session.scalar(sa.select(sa.func.count(SessionReminder.id))) == 2
    assert (
        db.session.scalar(
            sa.select(sa.func.count(OutboundEmail.id)).where(
                OutboundEmail.template == "session_reminder"
            )
        )
        == 2
    )
