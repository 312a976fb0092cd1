"""Country seats under concurrency, on PostgreSQL (row locks on the edition), as in
tests/test_registration_concurrency.py: each thread is a request served by another worker."""

from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from schoolmgr.extensions import db
from schoolmgr.models import (
    AuditEvent,
    Country,
    Edition,
    OutboundEmail,
    Registration,
    RegistrationStatus,
    User,
    utcnow,
)
from schoolmgr.registration import country_seats, registering
from tests.dbutil import postgres_url
from tests.factories import set_quotas
from tests.test_registration_concurrency import register_job, run_concurrently

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not postgres_url(), reason="TEST_DATABASE_URL is not set"),
]

RS, AL, ME = Country.SERBIA, Country.ALBANIA, Country.MONTENEGRO


def by_country(edition_id):
    """{(country, status): n} and the waiting-list positions."""
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(User.country, Registration.status, Registration.waitlist_position)
        .join(Registration.user)
        .where(Registration.edition_id == edition_id)
    ).all()
    counts = Counter((country, status) for country, status, _pos in rows)
    positions = sorted(pos for _c, _s, pos in rows if pos is not None)
    return counts, positions


def test_a_burst_from_three_countries_fills_exactly_each_countrys_seats(
    app, make_edition, make_user
):
    edition = make_edition(capacity=8)
    set_quotas(edition, RS=4, AL=3, ME=1)
    mix = [RS] * 30 + [AL] * 20 + [ME] * 10
    user_ids = [make_user(country=c).id for c in mix]

    outcomes = run_concurrently(app, [register_job(app, uid, edition.id) for uid in user_ids])

    assert outcomes == ["ok"] * 60
    counts, positions = by_country(edition.id)
    accepted = RegistrationStatus.ACCEPTED
    assert (counts[(RS, accepted)], counts[(AL, accepted)], counts[(ME, accepted)]) == (4, 3, 1)
    assert positions == list(range(1, 53))


def test_open_seats_are_shared_and_no_country_exceeds_its_seats_plus_the_open_ones(
    app, make_edition, make_user
):
    edition = make_edition(capacity=10)
    set_quotas(edition, RS=3, AL=3)  # 4 seats open to everyone
    mix = [RS] * 20 + [AL] * 20 + [ME] * 20
    user_ids = [make_user(country=c).id for c in mix]

    assert (
        run_concurrently(app, [register_job(app, u, edition.id) for u in user_ids]) == ["ok"] * 60
    )

    counts, positions = by_country(edition.id)
    accepted = {c: counts[(c, RegistrationStatus.ACCEPTED)] for c in (RS, AL, ME)}
    assert sum(accepted.values()) == 10
    assert accepted[RS] >= 3 and accepted[AL] >= 3
    assert (accepted[RS] - 3) + (accepted[AL] - 3) + accepted[ME] == 4
    assert positions == list(range(1, 51))


def test_concurrent_cancellations_give_each_freed_country_seat_to_that_country(
    app, make_edition, make_registration, make_user
):
    edition = make_edition(capacity=4)
    set_quotas(edition, RS=2, AL=2)
    serbs = [make_registration(edition=edition, user=make_user(country=RS)).id for _ in range(2)]
    for _ in range(2):
        make_registration(edition=edition, user=make_user(country=AL))
    # The waiting list alternates: Albanian, Serbian, Albanian, Serbian, ...
    waiting = [
        make_registration(
            edition=edition,
            user=make_user(country=AL if p % 2 else RS),
            status=RegistrationStatus.WAITLISTED,
            waitlist_position=p,
        ).id
        for p in range(1, 9)
    ]
    first_serbs = [rid for i, rid in enumerate(waiting) if i % 2 == 1][:2]

    def cancel_job(registration_id):
        def job():
            registration = db.session.get(Registration, registration_id)
            registering.cancel(registration, registration.user)

        return job

    outcomes = run_concurrently(app, [cancel_job(rid) for rid in serbs for _ in range(2)])

    assert sorted(outcomes) == ["already_cancelled"] * 2 + ["ok"] * 2
    db.session.expire_all()
    promoted = [
        rid
        for rid in waiting
        if db.session.get(Registration, rid).status == RegistrationStatus.ACCEPTED
    ]
    assert promoted == first_serbs
    _counts, positions = by_country(edition.id)
    assert positions == list(range(1, 7))
    mail = db.session.scalars(
        sa.select(OutboundEmail.recipient).where(OutboundEmail.template == "registration_promoted")
    ).all()
    assert len(mail) == 2


def test_release_by_staff_and_by_the_command_at_once_releases_once(
    app, make_edition, make_registration, make_user
):
    staff_id = make_user(staff=True).id
    edition = make_edition(capacity=4)
    set_quotas(edition, RS=2, AL=2)
    for _ in range(2):
        make_registration(edition=edition, user=make_user(country=RS))
    waiting = [
        make_registration(
            edition=edition,
            user=make_user(country=RS),
            status=RegistrationStatus.WAITLISTED,
            waitlist_position=p,
        ).id
        for p in range(1, 5)
    ]
    edition.quota_release_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    edition_id = edition.id  # read here: the threads must not touch this session

    def staff_job():
        country_seats.release_country_seats(
            db.session.get(Edition, edition_id), db.session.get(User, staff_id)
        )

    jobs = [
        staff_job,
        staff_job,
        country_seats.release_due_country_seats,
        country_seats.release_due_country_seats,
    ]
    outcomes = run_concurrently(app, jobs)

    assert outcomes.count("ok") >= 2 and set(outcomes) <= {"ok", "already_released"}
    db.session.expire_all()
    statuses = [db.session.get(Registration, rid).status for rid in waiting]
    assert statuses == [RegistrationStatus.ACCEPTED] * 2 + [RegistrationStatus.WAITLISTED] * 2
    released = db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "edition.quotas_released")
    )
    assert released == 1
