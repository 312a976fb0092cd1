"""National coordinators: they see only their country's people, rank and nominate them; staff
decide after the nomination; the participant is told by email."""

import email
import email.policy

import pytest
import sqlalchemy as sa

from schoolmgr.mail import deliver_pending
from schoolmgr.models import (
    AuditEvent,
    Country,
    Nomination,
    OutboundEmail,
    Registration,
    RegistrationStatus,
    Role,
    User,
)
from schoolmgr.nominations import services
from schoolmgr.nominations.services import NominationError
from schoolmgr.people import services as people_services
from schoolmgr.people.services import PeopleError
from schoolmgr.registration import country_seats, registering, review
from schoolmgr.registration.errors import RegistrationError


@pytest.fixture
def nomination_edition(make_edition):
    return make_edition(capacity=4, nomination_required=True)


@pytest.fixture
def serbian_coordinator(make_user):
    return make_user(coordinator=True, country=Country.SERBIA, full_name="Jelena Koordinator")


def register(make_user, edition, country, **user):
    person = make_user(country=country, **user)
    return registering.register(person, edition, consent=True)


def mails(db, template):
    return db.session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.template == template)
    ).all()


def test_a_nomination_edition_keeps_registrations_pending_and_says_why(
    db, nomination_edition, make_user
):
    registration = register(make_user, nomination_edition, Country.SERBIA)
    assert registration.status == RegistrationStatus.PENDING
    (received,) = mails(db, "registration_received")
    assert "national coordinator" in received.body_text


def test_the_coordinator_sees_only_their_countrys_people(
    db, nomination_edition, make_user, serbian_coordinator
):
    serb = register(make_user, nomination_edition, Country.SERBIA, full_name="Đorđe Čolić")
    albanian = register(make_user, nomination_edition, Country.ALBANIA, full_name="Ëngjëll Çela")

    seen = services.country_registrations(serbian_coordinator, nomination_edition)

    assert [r.id for r in seen] == [serb.id]
    with pytest.raises(NominationError) as err:
        services.registration_for(serbian_coordinator, albanian.id)
    assert err.value.code == "not_found"
    (row,) = services.editions_for(serbian_coordinator)
    assert (row.total, row.awaiting, row.nominated) == (1, 1, 0)


def test_nominating_emails_the_participant_and_lets_staff_accept(
    db, nomination_edition, make_user, serbian_coordinator
):
    staff = make_user(staff=True)
    first = register(make_user, nomination_edition, Country.SERBIA)
    second = register(make_user, nomination_edition, Country.SERBIA)

    with pytest.raises(RegistrationError) as err:
        review.bulk_decide(nomination_edition, [first.id], "accept", staff)
    assert err.value.code == "not_nominated"

    services.nominate(serbian_coordinator, second, "nominated", rank=1, note="Leads the unit")
    services.nominate(serbian_coordinator, first, "declined", rank=2, note="Joined last month")

    assert [
        r.id for r in services.country_registrations(serbian_coordinator, nomination_edition)
    ] == [
        second.id,
        first.id,
    ]
    (nominated_mail,) = mails(db, "registration_nominated")
    assert nominated_mail.recipient == second.user.email
    assert "nominated you" in nominated_mail.body_text
    assert "Leads the unit" not in nominated_mail.body_text  # the note is for staff
    (declined_mail,) = mails(db, "registration_not_nominated")
    assert declined_mail.recipient == first.user.email
    # Saving the same decision again (a new note) sends nothing more.
    services.nominate(serbian_coordinator, second, "nominated", rank=1, note="Leads the unit.")
    assert len(mails(db, "registration_nominated")) == 1

    review.bulk_decide(nomination_edition, [second.id], "accept", staff)
    db.session.expire_all()
    assert db.session.get(Registration, second.id).status == RegistrationStatus.ACCEPTED
    with pytest.raises(NominationError) as err:
        services.nominate(serbian_coordinator, db.session.get(Registration, second.id), "declined")
    assert err.value.code == "already_decided"
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "registration.nominated" in actions and "registration.declined" in actions


def test_the_coordinator_pages_and_form(
    client, login, db, nomination_edition, make_user, serbian_coordinator
):
    serb = register(make_user, nomination_edition, Country.SERBIA, full_name="Đorđe Čolić")
    register(make_user, nomination_edition, Country.ALBANIA, full_name="Ëngjëll Çela")
    login(serbian_coordinator)

    home = client.get("/coordinator/")
    assert nomination_edition.title in home.get_data(as_text=True)
    page = client.get(f"/coordinator/editions/{nomination_edition.slug}")
    body = page.get_data(as_text=True)
    assert "Đorđe Čolić" in body and "Ëngjëll Çela" not in body

    missing = client.post(f"/coordinator/registrations/{serb.id}", data={})
    assert missing.status_code == 400
    assert "Choose to nominate or not." in missing.get_data(as_text=True)
    saved = client.post(
        f"/coordinator/registrations/{serb.id}",
        data={
            f"r{serb.id}-decision": "nominated",
            f"r{serb.id}-rank": "1",
            f"r{serb.id}-note": "Yes",
        },
    )
    assert saved.status_code == 303
    db.session.expire_all()
    stored = db.session.get(Registration, serb.id)
    assert (stored.nomination, stored.nomination_rank, stored.nomination_note) == (
        Nomination.NOMINATED,
        1,
        "Yes",
    )
    assert stored.nominated_by_id == serbian_coordinator.id


def test_a_coordinator_of_another_country_gets_not_found(
    client, login, db, nomination_edition, make_user
):
    serb = register(make_user, nomination_edition, Country.SERBIA)
    login(make_user(coordinator=True, country=Country.ALBANIA))
    response = client.post(
        f"/coordinator/registrations/{serb.id}", data={f"r{serb.id}-decision": "declined"}
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Registration, serb.id).nomination is None


def test_editions_without_nominations_are_not_shown_to_coordinators(
    client, login, make_edition, serbian_coordinator
):
    open_edition = make_edition()
    login(serbian_coordinator)
    assert client.get(f"/coordinator/editions/{open_edition.slug}").status_code == 404
    assert open_edition.title not in client.get("/coordinator/").get_data(as_text=True)


def test_staff_make_someone_a_coordinator_with_their_country(client, login, db, make_user):
    staff = login(make_user(staff=True))
    person = make_user(country=Country.SERBIA)

    refused = client.post(f"/staff/people/{person.id}/role", data={"role": "coordinator"})
    assert refused.status_code == 400
    assert "Choose the country" in refused.get_data(as_text=True)

    done = client.post(
        f"/staff/people/{person.id}/role",
        data={"role": "coordinator", "coordinator_country": "XK"},
    )
    assert done.status_code == 302
    db.session.expire_all()
    fresh = db.session.get(User, person.id)
    assert (fresh.role, fresh.coordinator_country) == (Role.COORDINATOR, Country.KOSOVO)
    assert "Kosovo*" in client.get(f"/staff/people/{person.id}").get_data(as_text=True)

    people_services.change_role(staff, fresh, Role.PARTICIPANT)
    assert fresh.coordinator_country is None
    with pytest.raises(PeopleError) as err:
        people_services.change_role(staff, fresh, Role.COORDINATOR, coordinator_country="OTHER")
    assert err.value.code == "country_required"


def test_the_coordinator_cannot_widen_their_view_by_editing_their_profile(
    client, login, db, nomination_edition, make_user, serbian_coordinator
):
    albanian = register(make_user, nomination_edition, Country.ALBANIA, full_name="Ëngjëll Çela")
    serbian_coordinator.country = Country.ALBANIA  # the profile country, not the coordinated one
    db.session.commit()
    login(serbian_coordinator)
    body = client.get(f"/coordinator/editions/{nomination_edition.slug}").get_data(as_text=True)
    assert "Ëngjëll Çela" not in body
    assert albanian.id


def test_the_nomination_email_is_delivered_through_the_outbox(
    db, outbox, nomination_edition, make_user, serbian_coordinator
):
    serb = register(make_user, nomination_edition, Country.SERBIA, full_name="Ђорђе Чолић")
    services.nominate(serbian_coordinator, serb, Nomination.NOMINATED)
    deliver_pending()

    (message,) = [m for m in outbox if "nominated" in m["Subject"]]
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed["To"] == serb.user.email
    assert "Ђорђе Чолић" in parsed.get_body(preferencelist=("plain",)).get_content()


def test_the_demo_school_has_an_edition_with_country_seats_and_a_coordinator(db):
    from schoolmgr.demo import seed_demo
    from schoolmgr.models import Edition

    seed_demo()
    coordinator = db.session.scalar(sa.select(User).where(User.email == "coordinator@example.org"))
    assert (coordinator.role, coordinator.coordinator_country) == (Role.COORDINATOR, Country.SERBIA)
    lab = db.session.scalar(sa.select(Edition).where(Edition.slug == "rapid-innovation-lab-next"))
    assert lab.nomination_required and sum(q.seats for q in lab.seat_quotas) == lab.capacity
    rows = {r.country: r for r in country_seats.country_seats(lab)}
    assert rows[Country.SERBIA].quota == 4 and rows[Country.SERBIA].nominated == 2
    seen = services.country_registrations(coordinator, lab)
    assert seen and {r.user.country for r in seen} == {Country.SERBIA}


def test_the_note_is_exported_to_the_participant_and_emptied_when_they_are_anonymised(
    db, nomination_edition, make_user, serbian_coordinator
):
    from schoolmgr.privacy import services as privacy

    serb = register(make_user, nomination_edition, Country.SERBIA)
    services.nominate(serbian_coordinator, serb, "declined", note="Too junior this year")
    (exported,) = privacy.export_personal_data(serb.user)["registrations"]
    assert (exported["nomination"], exported["nomination_note"]) == (
        "declined",
        "Too junior this year",
    )

    privacy.anonymise_user(serb.user)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Registration, serb.id).nomination_note == ""
    audit = db.session.scalars(sa.select(AuditEvent.after)).all()
    assert "Too junior this year" not in repr(audit)
