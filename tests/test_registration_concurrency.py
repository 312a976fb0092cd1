"""Capacity and the waiting list under concurrency, on PostgreSQL (row locks on the edition).

Each thread has its own app context and so its own database session and connection, like
requests served by different workers.
"""

import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from schoolmgr.extensions import db
from schoolmgr.models import Edition, OutboundEmail, Registration, RegistrationStatus, User
from schoolmgr.registration import registering, review
from schoolmgr.registration.errors import RegistrationError
from tests.dbutil import postgres_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not postgres_url(), reason="TEST_DATABASE_URL is not set"),
]


def run_concurrently(app, jobs):
    """Run each job(…) in its own thread and app context, all released at once.

    Returns the outcome of each job: "ok" or the RegistrationError code or exception name.
    """
    barrier = threading.Barrier(len(jobs))
    outcomes = [None] * len(jobs)

    def worker(index, job):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                job()
                outcomes[index] = "ok"
            except RegistrationError as err:
                outcomes[index] = err.code
            except Exception as exc:  # reported in the assertion, not swallowed
                outcomes[index] = f"{type(exc).__name__}: {exc}"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def rows(edition_id):
    db.session.expire_all()
    return db.session.execute(
        sa.select(Registration.id, Registration.status, Registration.waitlist_position)
        .where(Registration.edition_id == edition_id)
        .order_by(Registration.id)
    ).all()


def register_job(app, user_id, edition_id):
    def job():
        user = db.session.get(User, user_id)
        edition = db.session.get(Edition, edition_id)
        registering.register(user, edition, consent=True)

    return job


def test_sixty_concurrent_registrations_fill_exactly_ten_seats(app, make_edition, make_user):
    edition = make_edition(capacity=10)
    user_ids = [make_user().id for _ in range(60)]
    outcomes = run_concurrently(app, [register_job(app, uid, edition.id) for uid in user_ids])
    assert outcomes == ["ok"] * 60
    result = rows(edition.id)
    statuses = Counter(status for _id, status, _pos in result)
    assert statuses == {RegistrationStatus.ACCEPTED: 10, RegistrationStatus.WAITLISTED: 50}
    positions = sorted(pos for _id, status, pos in result if pos is not None)
    assert positions == list(range(1, 51))


def test_the_same_person_registering_twice_at_once_gets_one_registration(
    app, make_edition, make_user
):
    edition = make_edition(capacity=10)
    user_id = make_user().id
    outcomes = run_concurrently(app, [register_job(app, user_id, edition.id) for _ in range(8)])
    assert sorted(outcomes) == ["already_registered"] * 7 + ["ok"]
    assert len(rows(edition.id)) == 1


def test_concurrent_cancellations_promote_exactly_once_per_freed_seat(
    app, make_edition, make_registration
):
    edition = make_edition(capacity=10)
    accepted = [make_registration(edition=edition).id for _ in range(10)]
    waiting = [
        make_registration(
            edition=edition, status=RegistrationStatus.WAITLISTED, waitlist_position=p
        ).id
        for p in range(1, 21)
    ]
    cancelled = accepted[:5]

    def cancel_job(registration_id):
        def job():
            registration = db.session.get(Registration, registration_id)
            registering.cancel(registration, registration.user)

        return job

    # Each of five seats is cancelled by two requests at once (a double click, two tabs).
    jobs = [cancel_job(rid) for rid in cancelled for _ in range(2)]
    outcomes = run_concurrently(app, jobs)
    assert sorted(outcomes) == ["already_cancelled"] * 5 + ["ok"] * 5

    by_id = {rid: (status, pos) for rid, status, pos in rows(edition.id)}
    assert Counter(status for status, _ in by_id.values()) == {
        RegistrationStatus.ACCEPTED: 10,
        RegistrationStatus.CANCELLED: 5,
        RegistrationStatus.WAITLISTED: 15,
    }
    # The first five on the waiting list were promoted, and the rest moved up to 1..15.
    assert all(by_id[rid][0] == RegistrationStatus.ACCEPTED for rid in waiting[:5])
    assert [by_id[rid][1] for rid in waiting[5:]] == list(range(1, 16))
    promoted_mail = db.session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.template == "registration_promoted")
    ).all()
    assert len(promoted_mail) == 5


def test_concurrent_staff_accepts_never_exceed_capacity(
    app, make_edition, make_registration, make_user
):
    staff_id = make_user(staff=True).id
    edition = make_edition(capacity=5, moderated=True)
    pending = [
        make_registration(edition=edition, status=RegistrationStatus.PENDING).id for _ in range(12)
    ]

    def accept_job(registration_id):
        def job():
            review.bulk_decide(
                db.session.get(Edition, edition.id),
                [registration_id],
                "accept",
                db.session.get(User, staff_id),
            )

        return job

    outcomes = run_concurrently(app, [accept_job(rid) for rid in pending])
    assert sorted(outcomes) == ["ok"] * 5 + ["over_capacity"] * 7
    statuses = Counter(status for _id, status, _pos in rows(edition.id))
    assert statuses[RegistrationStatus.ACCEPTED] == 5
