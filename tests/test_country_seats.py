"""Country seats: quotas on the capacity, per-country promotion, release, the staff pages."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from schoolmgr.models import (
    AuditEvent,
    Country,
    Edition,
    EditionSeatQuota,
    OutboundEmail,
    Registration,
    RegistrationStatus,
    utcnow,
)
from schoolmgr.registration import country_seats, registering, review
from schoolmgr.registration.errors import RegistrationError
from tests.factories import set_quotas

RS, AL, ME, OTHER = Country.SERBIA, Country.ALBANIA, Country.MONTENEGRO, Country.OTHER


def register(make_user, edition, country, **user):
    person = make_user(country=country, **user)
    return registering.register(person, edition, consent=True)


def status_of(db, registration):
    db.session.expire_all()
    row = db.session.get(Registration, registration.id)
    return row.status, row.waitlist_position


def test_a_full_country_waits_while_other_countries_still_get_their_seats(
    db, make_edition, make_user
):
    edition = make_edition(capacity=4)
    set_quotas(edition, RS=2, AL=2)
    serbs = [register(make_user, edition, RS) for _ in range(3)]
    albanian = register(make_user, edition, AL)

    assert [r.status for r in serbs] == [
        RegistrationStatus.ACCEPTED,
        RegistrationStatus.ACCEPTED,
        RegistrationStatus.WAITLISTED,
    ]
    assert serbs[2].waitlist_position == 1
    assert albanian.status == RegistrationStatus.ACCEPTED


def test_seats_given_to_no_country_are_open_to_everyone(db, make_edition, make_user):
    edition = make_edition(capacity=3)
    set_quotas(edition, RS=1, AL=1)  # one seat open to all
    first = [register(make_user, edition, RS) for _ in range(3)]
    assert [r.status for r in first] == [
        RegistrationStatus.ACCEPTED,
        RegistrationStatus.ACCEPTED,  # the open seat
        RegistrationStatus.WAITLISTED,
    ]
    # The Albanian seat is still free for an Albanian; a Montenegrin has nowhere to sit.
    assert register(make_user, edition, ME).status == RegistrationStatus.WAITLISTED
    assert register(make_user, edition, AL).status == RegistrationStatus.ACCEPTED


def test_people_without_a_country_take_the_seats_of_others(db, make_edition, make_user):
    edition = make_edition(capacity=2)
    set_quotas(edition, RS=1, OTHER=1)
    assert register(make_user, edition, None).status == RegistrationStatus.ACCEPTED
    assert register(make_user, edition, OTHER).status == RegistrationStatus.WAITLISTED
    assert register(make_user, edition, RS).status == RegistrationStatus.ACCEPTED


def test_a_freed_serbian_seat_goes_to_the_first_serbian_on_the_waiting_list(
    db, make_edition, make_user
):
    edition = make_edition(capacity=4)
    set_quotas(edition, RS=2, AL=2)
    serbs = [register(make_user, edition, RS) for _ in range(2)]
    albanians = [register(make_user, edition, AL) for _ in range(2)]
    waiting_albanian = register(make_user, edition, AL)  # position 1
    waiting_serb = register(make_user, edition, RS)  # position 2
    later_serb = register(make_user, edition, RS)  # position 3
    assert waiting_albanian.waitlist_position == 1

    promoted = registering.cancel(serbs[0], serbs[0].user)

    assert [r.id for r in promoted] == [waiting_serb.id]
    assert status_of(db, waiting_serb) == (RegistrationStatus.ACCEPTED, None)
    assert status_of(db, waiting_albanian) == (RegistrationStatus.WAITLISTED, 1)
    assert status_of(db, later_serb) == (RegistrationStatus.WAITLISTED, 2)
    mail = db.session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.template == "registration_promoted")
    ).all()
    assert [m.recipient for m in mail] == [waiting_serb.user.email]
    assert albanians  # still accepted, untouched


def test_without_quotas_the_first_on_the_waiting_list_gets_the_seat(db, make_edition, make_user):
    edition = make_edition(capacity=1)
    seated = register(make_user, edition, RS)
    albanian = register(make_user, edition, AL)
    registering.cancel(seated, seated.user)
    assert status_of(db, albanian) == (RegistrationStatus.ACCEPTED, None)


def test_staff_release_the_unused_country_seats_to_the_waiting_list_in_order(
    db, make_edition, make_user
):
    staff = make_user(staff=True)
    edition = make_edition(capacity=4)
    set_quotas(edition, RS=2, AL=2)
    for _ in range(2):
        register(make_user, edition, RS)
    waiting = [register(make_user, edition, RS) for _ in range(3)]

    promoted = country_seats.release_country_seats(edition, staff)

    assert [r.id for r in promoted] == [waiting[0].id, waiting[1].id]
    assert status_of(db, waiting[2]) == (RegistrationStatus.WAITLISTED, 1)
    db.session.expire_all()
    assert db.session.get(Edition, edition.id).quotas_released_at is not None
    with pytest.raises(RegistrationError) as err:
        country_seats.release_country_seats(edition, staff)
    assert err.value.code == "already_released"
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(AuditEvent.action == "edition.quotas_released")
        )
        == 1
    )


def test_release_date_applies_on_the_promotion_path_and_through_the_command(
    db, app, make_edition, make_user
):
    edition = make_edition(capacity=2)
    set_quotas(edition, RS=1, AL=1)
    register(make_user, edition, RS)
    waiting = register(make_user, edition, RS)
    edition.quota_release_at = utcnow() + timedelta(hours=1)
    db.session.commit()

    assert country_seats.release_due_country_seats() == {}
    later = utcnow() + timedelta(hours=2)
    assert country_seats.release_due_country_seats(later) == {edition.slug: 1}
    assert status_of(db, waiting) == (RegistrationStatus.ACCEPTED, None)
    assert country_seats.release_due_country_seats(later) == {}  # idempotent

    # A registration after the date takes any free seat, whatever the quotas said.
    edition2 = make_edition(capacity=1)
    set_quotas(edition2, AL=1)
    edition2.quota_release_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert register(make_user, edition2, RS).status == RegistrationStatus.ACCEPTED

    runner = app.test_cli_runner()
    first = runner.invoke(args=["seats", "release-due"])
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[-1] == "released=1 promoted=0"
    again = runner.invoke(args=["seats", "release-due"])
    assert again.output.splitlines()[-1] == "released=0 promoted=0"


def test_quotas_may_not_exceed_the_capacity_and_save_nothing_when_refused(
    db, make_edition, make_user
):
    staff = make_user(staff=True)
    edition = make_edition(capacity=5)
    with pytest.raises(RegistrationError) as err:
        country_seats.set_country_seats(edition, {RS: 3, AL: 3}, None, False, staff)
    assert err.value.code == "quotas_over_capacity"
    with pytest.raises(RegistrationError) as err:
        country_seats.set_country_seats(edition, {RS: -1}, None, False, staff)
    assert err.value.code == "quota_invalid"
    with pytest.raises(RegistrationError) as err:
        country_seats.set_country_seats(
            edition, {RS: 1}, utcnow() - timedelta(days=1), False, staff
        )
    assert err.value.code == "release_in_past"
    assert db.session.scalar(sa.select(sa.func.count(EditionSeatQuota.id))) == 0

    country_seats.set_country_seats(edition, {RS: 2, AL: 3, ME: 0}, None, True, staff)
    db.session.expire_all()
    saved = db.session.get(Edition, edition.id)
    assert {q.country: q.seats for q in saved.seat_quotas} == {RS: 2, AL: 3}
    assert saved.nomination_required is True
    with pytest.raises(RegistrationError) as err:
        review.set_capacity(saved, 4, staff)
    assert err.value.code == "capacity_below_quotas"


def test_lowering_a_quota_promotes_people_it_was_holding_back(db, make_edition, make_user):
    staff = make_user(staff=True)
    edition = make_edition(capacity=2)
    set_quotas(edition, RS=1, AL=1)
    register(make_user, edition, RS)
    waiting = register(make_user, edition, RS)

    promoted = country_seats.set_country_seats(edition, {RS: 1}, None, False, staff)

    assert [r.id for r in promoted] == [waiting.id]


def test_staff_pages_show_seats_per_country(client, login, make_edition, make_user, db):
    login(make_user(staff=True))
    edition = make_edition(capacity=6)
    set_quotas(edition, RS=2, XK=2)
    register(make_user, edition, RS)
    register(make_user, edition, Country.KOSOVO)

    page = client.get(f"/staff/editions/{edition.slug}/registrations/seats")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Kosovo*" in body and "UNSCR 1244/1999" in body
    overview = client.get(f"/staff/editions/{edition.slug}/registrations/overview")
    assert 'data-country="RS"' in overview.get_data(as_text=True)


def test_staff_set_quotas_through_the_form(client, login, make_edition, make_user, db):
    login(make_user(staff=True))
    edition = make_edition(capacity=6)
    url = f"/staff/editions/{edition.slug}/registrations/seats"

    refused = client.post(url, data={"quota_rs": "4", "quota_al": "4"})
    assert refused.status_code == 409
    assert "more than the capacity" in refused.get_data(as_text=True)

    saved = client.post(
        url,
        data={
            "quota_rs": "3",
            "quota_xk": "2",
            "release_date": (utcnow() + timedelta(days=3)).date().isoformat(),
            "release_time": "12:00",
            "nomination_required": "y",
        },
    )
    assert saved.status_code == 303
    db.session.expire_all()
    fresh = db.session.get(Edition, edition.id)
    assert {q.country: q.seats for q in fresh.seat_quotas} == {RS: 3, Country.KOSOVO: 2}
    assert fresh.nomination_required
    assert fresh.quota_release_at.astimezone(fresh.tz).hour == 12

    bad = client.post(url, data={"quota_rs": "-3"})
    assert bad.status_code == 400


def test_duplicating_an_edition_carries_its_country_seats_and_nominations(
    db, make_edition, make_user
):
    from datetime import date

    from schoolmgr.programme import editions

    edition = make_edition(capacity=8, nomination_required=True)
    set_quotas(edition, RS=4, AL=4)
    edition.quota_release_at = edition.registration_closes_at - timedelta(days=3)
    edition.quotas_released_at = utcnow()
    db.session.commit()
    days = timedelta(days=365)

    copy = editions.duplicate_edition(
        edition, title="Next year", slug="next-year", start_date=edition.start_date + days
    )
    db.session.commit()

    assert copy.nomination_required
    assert {q.country: q.seats for q in copy.seat_quotas} == {RS: 4, AL: 4}
    assert copy.quota_release_at.date() in {
        (edition.quota_release_at + days).date() + timedelta(days=d) for d in (-1, 0, 1)
    }
    assert copy.quotas_released_at is None  # the new season's seats are reserved again
    assert isinstance(copy.start_date, date)
