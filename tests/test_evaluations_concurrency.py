"""Two answers to the same part posted at once by the same participant: one is stored.

On PostgreSQL, each thread with its own app context and connection, like two workers.
"""

from datetime import date

import pytest
import sqlalchemy as sa

from schoolmgr.evaluations import answering, reporting
from schoolmgr.extensions import db
from schoolmgr.models import (
    EvaluationAnswer,
    EvaluationPart,
    EvaluationResponse,
    EvaluationSubmission,
    Registration,
)
from tests.dbutil import postgres_url
from tests.evaluation_world import evaluation_world, module_answers
from tests.test_registration_concurrency import run_concurrently

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not postgres_url(), reason="TEST_DATABASE_URL is not set"),
]


def answer_job(part_id, registration_id, values):
    def job():
        part = db.session.get(EvaluationPart, part_id)
        registration = db.session.get(Registration, registration_id)
        answering.submit(part, registration, values, date(2026, 1, 5))

    return job


def test_two_answers_posted_at_once_store_one(app):
    world = evaluation_world(participants=2)
    part = world.part(world.em1)
    values = module_answers(part)
    registration_id = world.registrations[0].id
    jobs = [answer_job(part.id, registration_id, values) for _ in range(8)]
    outcomes = run_concurrently(app, jobs)
    # Domain errors of this area are not RegistrationErrors: the helper names them by type.
    assert outcomes.count("ok") == 1, outcomes
    assert all(o == "ok" or o.startswith("EvaluationError") for o in outcomes), outcomes
    db.session.expire_all()
    count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
    assert count(EvaluationSubmission) == 1
    assert count(EvaluationResponse) == 1
    assert count(EvaluationAnswer) == 4


def test_many_participants_answering_at_once_are_all_counted(app):
    world = evaluation_world(participants=10)
    part = world.part(world.em1)
    values = module_answers(part)
    jobs = [answer_job(part.id, r.id, values) for r in world.registrations]
    assert run_concurrently(app, jobs) == ["ok"] * 10
    result = reporting.form_results(world.form, [part])[0]
    assert (result.responses, result.eligible) == (10, 10)
