"""Announcements: filters, placeholders, preview, send once, delivery status, opt-out, dashboard."""

import email
import email.policy
import re

import pytest
import sqlalchemy as sa

from schoolmgr.announcements import services
from schoolmgr.announcements.services import AnnouncementError, Audience
from schoolmgr.extensions import db
from schoolmgr.models import (
    Announcement,
    AnnouncementRecipient,
    AnnouncementStatus,
    AttendanceStatus,
    Country,
    EmailStatus,
    MaterialKind,
    OutboundEmail,
    RegistrationStatus,
    Role,
)
from tests import factories as F  # noqa: N812


def parsed(message) -> email.message.EmailMessage:
    """An outbox message read back by the stdlib parser, as a mail client would."""
    return email.message_from_bytes(bytes(message), policy=email.policy.default)


def text_of(message) -> str:
    return parsed(message).get_body(preferencelist=("plain",)).get_content()


@pytest.fixture
def school(app):
    """An edition with two modules; people in every status, from two countries."""
    edition = F.EditionFactory(
        title="Seasonal School on Digital Transformation", module_choice=True
    )
    edition.online_url = "https://meet.example.org/school"
    agile = F.EditionModuleFactory(edition=edition, module=F.ModuleFactory(name="Agile"))
    data = F.EditionModuleFactory(edition=edition, module=F.ModuleFactory(name="Data Science"))
    s_agile = F.SessionFactory(edition_module=agile, room="Hall A")
    F.SessionFactory(edition_module=data, starts_at=s_agile.starts_at.replace(hour=13))

    def person(name, status, country=Country.SERBIA, modules=(agile,)):
        user = F.UserFactory(full_name=name, country=country)
        position = 1 if status == RegistrationStatus.WAITLISTED else None
        return F.RegistrationFactory(
            user=user,
            edition=edition,
            status=status,
            waitlist_position=position,
            modules=list(modules),
        )

    people = {
        "jelena": person("Jelena Marković", RegistrationStatus.ACCEPTED),
        "ardit": person("Ardit Hoxha", RegistrationStatus.ACCEPTED, Country.ALBANIA, (data,)),
        "milos": person("Miloš Đorđević", RegistrationStatus.WAITLISTED),
        "ana": person("Ana Petrovska", RegistrationStatus.PENDING, Country.NORTH_MACEDONIA),
        "gone": person("Gone Person", RegistrationStatus.CANCELLED),
    }
    F.AttendanceFactory(session=s_agile, registration=people["jelena"])
    staff = F.UserFactory(role=Role.STAFF, full_name="Staff Member")
    db.session.commit()
    return {"edition": edition, "agile": agile, "data": data, "staff": staff, **people}


def names(registrations) -> set[str]:
    return {r.user.full_name for r in registrations}


def test_filters_choose_by_status_module_country_and_attendance(school):
    edition = school["edition"]

    def who(**kw):
        return names(services.audience_registrations(edition, Audience(**kw)))

    assert who() == {"Jelena Marković", "Ardit Hoxha"}
    assert who(statuses=["waitlisted", "pending"]) == {"Miloš Đorđević", "Ana Petrovska"}
    assert who(statuses=["accepted"], module_id=school["agile"].id) == {"Jelena Marković"}
    assert who(statuses=["accepted", "pending"], country="AL") == {"Ardit Hoxha"}
    assert who(attended="yes") == {"Jelena Marković"}
    assert who(attended="no") == {"Ardit Hoxha"}


@pytest.mark.parametrize(
    "audience",
    [
        Audience(statuses=[]),
        Audience(statuses=["cancelled"]),
        Audience(module_id=999999),
        Audience(country="FR"),
        Audience(attended="maybe"),
    ],
)
def test_filters_outside_the_choices_are_refused(school, audience):
    with pytest.raises(AnnouncementError) as exc:
        services.audience_registrations(school["edition"], audience)
    assert exc.value.code == "bad_filter"


def test_unknown_placeholders_are_refused_by_name(school):
    with pytest.raises(AnnouncementError) as exc:
        services.check_placeholders("Hello {first_name}", "See {last_name} and {0.__class__}")
    assert exc.value.code == "unknown_placeholder"
    assert "{last_name}" in exc.value.message and "{0.__class__}" in exc.value.message
    assert "{first_name}" in exc.value.message  # the message lists the known ones


def test_placeholders_are_filled_per_person(school):
    preview = services.preview(
        school["edition"],
        "News for {first_name}",
        "Dear {first_name}, {edition}:\n{my_sessions}\nLink: {online_link}",
        Audience(statuses=["accepted", "waitlisted"]),
        school["milos"].id,
    )
    assert preview.count == 3
    assert preview.subject == "News for Miloš"
    assert "Seasonal School on Digital Transformation" in preview.body
    assert "Agile (Hall A)" in preview.body and "Data Science" not in preview.body
    # Not accepted: no meeting link.
    assert "meet.example.org" not in preview.body
    assert "sent to accepted participants" in preview.body


def _send(school, key="a" * 32, **kw):
    values = {
        "subject": "Practical information, {first_name}",
        "body": "Dear {first_name},\nyour sessions:\n{my_sessions}\nOnline: {online_link}",
        "audience": Audience(statuses=["accepted"]),
        "material_ids": [],
        "idempotency_key": key,
    }
    values.update(kw)
    return services.send(school["edition"], school["staff"], **values)


def test_the_progress_of_a_large_send_is_grouped_as_the_reader_writes_counts(school, client, login):
    """The page's script wrote "1200 of 1500" over an Albanian page."""
    announcement, _ = _send(school)
    announcement.recipient_count, announcement.queued_count = 1500, 1200
    school["staff"].preferred_language = "sq"
    db.session.commit()
    login(school["staff"])
    url = f"/staff/editions/{school['edition'].slug}/announcements/{announcement.id}"

    page = client.get(url).text
    shown = client.get(url + ".json").get_json()["shown"]

    assert '<span data-field="done">1\xa0200</span>' in page
    assert shown == {"done": "1\xa0200", "total": "1\xa0500"}


def test_send_queues_one_filled_email_per_recipient_and_keeps_the_announcement(school, outbox):
    announcement, created = _send(school)
    db.session.commit()
    assert created and announcement.recipient_count == 2
    emails = db.session.scalars(sa.select(OutboundEmail).order_by(OutboundEmail.id)).all()
    assert sorted(e.recipient for e in emails) == sorted(
        [school["jelena"].user.email, school["ardit"].user.email]
    )
    by_to = {e.recipient: e for e in emails}
    jelena = by_to[school["jelena"].user.email]
    assert jelena.subject == "Practical information, Jelena"
    assert "Dear Jelena," in jelena.body_text and "Agile (Hall A)" in jelena.body_text
    assert "https://meet.example.org/school" in jelena.body_text
    assert "{" not in jelena.body_text.split("--")[0]


def test_the_same_form_sent_twice_sends_once(school):
    first, created = _send(school)
    again, created_again = _send(school)
    assert created and not created_again and again.id == first.id
    assert db.session.scalar(sa.select(sa.func.count(OutboundEmail.id))) == 2
    assert db.session.scalar(sa.select(sa.func.count(Announcement.id))) == 1


def test_nobody_matching_sends_nothing(school):
    with pytest.raises(AnnouncementError) as exc:
        _send(school, audience=Audience(statuses=["pending"], country="ME"))
    assert exc.value.code == "no_recipients"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Announcement.id))) == 0


def test_opted_out_people_get_no_email_but_see_it_on_their_dashboard(school, client, login):
    ardit = school["ardit"].user
    ardit.wants_announcements = False
    db.session.commit()
    announcement, _ = _send(school)
    emails = db.session.scalars(sa.select(OutboundEmail.recipient)).all()
    assert emails == [school["jelena"].user.email]
    assert services.delivery_counts(announcement)["opted_out"] == 1

    login(ardit)
    page = client.get("/me/registrations").get_data(as_text=True)
    assert "Practical information, Ardit" in page


def test_staff_see_each_recipients_delivery_with_failures(school, client, login, app):
    announcement, _ = _send(school)
    failed = db.session.scalar(
        sa.select(OutboundEmail).where(OutboundEmail.recipient == school["ardit"].user.email)
    )
    failed.status, failed.last_error = EmailStatus.FAILED, "SMTPRecipientsRefused: 550 no mailbox"
    db.session.commit()
    login(school["staff"])
    page = client.get(
        f"/staff/editions/{school['edition'].slug}/announcements/{announcement.id}"
    ).get_data(as_text=True)
    assert "550 no mailbox" in page
    assert "Failed" in page and "Ardit Hoxha" in page
    listing = client.get(f"/staff/editions/{school['edition'].slug}/announcements")
    text = listing.get_data(as_text=True)
    assert "Practical information, {first_name}" in text and "Staff Member" in text
    assert "Accepted" in text


def test_attachments_come_from_the_editions_current_files(school, app, outbox):
    from schoolmgr.materials.uploads import stored_path

    material = F.MaterialFactory(
        edition_module=school["agile"],
        kind=MaterialKind.FILE,
        url="",
        title="Reading list",
        stored_name="m-reading.pdf",
        original_name="reading-list.pdf",
        media_type="application/pdf",
        size=9,
    )
    path = stored_path(material)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4\n")
    other = F.MaterialFactory(kind=MaterialKind.FILE, url="", stored_name="m-other.pdf")
    with pytest.raises(AnnouncementError) as exc:
        _send(school, material_ids=[other.id])
    assert exc.value.code == "bad_material"
    db.session.rollback()

    _send(school, key="b" * 32, material_ids=[material.id])
    from schoolmgr.mail import deliver_pending

    deliver_pending()
    attachments = [
        (part.get_filename(), part.get_content())
        for message in outbox
        for part in parsed(message).iter_attachments()
    ]
    assert attachments == [("reading-list.pdf", b"%PDF-1.4\n")] * 2


def test_compose_page_previews_then_sends_once_per_form(school, client, login, outbox):
    login(school["staff"])
    url = f"/staff/editions/{school['edition'].slug}/announcements/new"
    page = client.get(url).get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([0-9a-f]{32})"', page).group(1)
    form = {
        "statuses": ["accepted", "waitlisted"],
        "module": str(school["agile"].id),
        "country": "",
        "attended": "",
        "subject": "Room change, {first_name}",
        "body": "Dear {first_name}, see {my_sessions}",
        "idempotency_key": key,
    }
    preview = client.post(url, data={**form, "action": "preview"})
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200
    # The preview shows the first recipient by family name: Đorđević before Marković.
    assert "2 recipients" in text and "Room change, Miloš" in text

    bad = client.post(url, data={**form, "body": "Hi {firstname}", "action": "preview"})
    assert bad.status_code == 400 and "Unknown placeholder {firstname}" in bad.get_data(
        as_text=True
    )

    changed = client.post(url, data={**form, "expected_count": "3", "action": "send"})
    assert changed.status_code == 409 and "now 2 people" in changed.get_data(as_text=True)
    assert not outbox

    form["expected_count"] = "2"
    sent = client.post(url, data={**form, "action": "send"})
    assert sent.status_code == 303
    again = client.post(url, data={**form, "action": "send"}, follow_redirects=True)
    assert "already sent" in again.get_data(as_text=True)
    assert sorted(parsed(m)["Subject"] for m in outbox) == [
        "Room change, Jelena",
        "Room change, Miloš",
    ]
    assert db.session.scalar(sa.select(sa.func.count(AnnouncementRecipient.id))) == 2


def test_large_sends_run_in_chunks_and_show_progress(school, app, client, login, monkeypatch):
    from schoolmgr.announcements import jobs

    app.config["REDIS_URL"] = "redis://127.0.0.1:6379/2"
    app.config["ANNOUNCEMENT_INLINE_LIMIT"] = 1
    queued = []
    monkeypatch.setattr(jobs, "enqueue", queued.append)
    announcement, _ = _send(school)
    assert announcement.status.value == "queued"
    assert db.session.scalar(sa.select(sa.func.count(OutboundEmail.id))) == 0

    login(school["staff"])
    base = f"/staff/editions/{school['edition'].slug}/announcements/{announcement.id}"
    assert client.get(base + ".json").get_json()["running"] is True
    monkeypatch.setattr(services, "CHUNK", 1)
    services.process(announcement, limit=1)
    db.session.commit()
    progress = client.get(base + ".json").get_json()
    assert progress["done"] == 1 and progress["total"] == 2
    announcement.status = AnnouncementStatus.FAILED  # the worker died
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["announcements", "resume", str(announcement.id)])
    assert "status=sent" in result.output, result.output
    assert client.get(base + ".json").get_json()["running"] is False
    assert db.session.scalar(sa.select(sa.func.count(OutboundEmail.id))) == 2


def test_attendance_filter_counts_late_as_attended(school):
    F.AttendanceFactory(
        session=school["data"].sessions[0],
        registration=school["ardit"],
        status=AttendanceStatus.LATE,
    )
    attended = services.audience_registrations(school["edition"], Audience(attended="yes"))
    assert names(attended) == {"Jelena Marković", "Ardit Hoxha"}


def test_opt_out_is_saved_from_the_profile(client, login):
    user = login()
    response = client.post(
        "/account/",
        data={
            "full_name": user.full_name,
            "institution": "",
            "position": "",
            "country": "RS",
            "preferred_language": "en",
        },
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.wants_announcements is False
    client.post(
        "/account/",
        data={
            "full_name": user.full_name,
            "country": "RS",
            "preferred_language": "en",
            "wants_announcements": "y",
        },
    )
    db.session.refresh(user)
    assert user.wants_announcements is True


def test_list_detail_and_dashboard_load_in_a_fixed_number_of_queries(school, client, login):
    from tests.test_query_counts import assert_same_query_count

    edition, staff = school["edition"], school["staff"]
    jelena = school["jelena"].user
    made = []
    keys = iter(range(10**6))

    def grow_announcements(n: int) -> None:
        while len(made) < n:
            announcement = Announcement(
                edition=edition,
                sender=staff,
                subject=f"News {len(made)}",
                body="Dear {first_name}",
                filters=Audience().as_dict(),
                idempotency_key=f"{next(keys):032x}",
                recipient_count=1,
            )
            db.session.add(announcement)
            db.session.add(
                AnnouncementRecipient(
                    announcement=announcement,
                    user=jelena,
                    subject=f"News {len(made)}",
                    body_text="Dear Jelena",
                )
            )
            made.append(announcement)
        db.session.commit()

    login(staff)
    assert_same_query_count(
        client, f"/staff/editions/{edition.slug}/announcements", grow_announcements
    )

    target, _ = _send(school, key="c" * 32)
    people = []

    def grow_recipients(n: int) -> None:
        while len(people) < n:
            user = F.UserFactory.build(full_name=f"Person {len(people)}")
            db.session.add(user)
            email_row = OutboundEmail(recipient=user.email, subject="x", body_text="x")
            db.session.add(
                AnnouncementRecipient(
                    announcement=target, user=user, email=email_row, body_text="x"
                )
            )
            people.append(user)
        db.session.commit()

    assert_same_query_count(
        client, f"/staff/editions/{edition.slug}/announcements/{target.id}", grow_recipients
    )
    login(jelena)
    made.clear()
    db.session.execute(sa.delete(AnnouncementRecipient))
    db.session.commit()
    assert_same_query_count(client, "/me/registrations", grow_announcements)
