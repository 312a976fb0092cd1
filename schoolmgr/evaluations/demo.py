"""Demo evaluations: answered (and closed) evaluations of the past editions, and the follow-up
survey of the 2019 school, so the results pages show real-looking figures on first run."""

import random
from datetime import timedelta

import sqlalchemy as sa

from schoolmgr.evaluations import answering, authoring
from schoolmgr.extensions import db
from schoolmgr.models import Edition, EvaluationForm, FormKind, QuestionKind, Registration

# How well each module went down, on average (1-5): some clearly better than others.
MODULE_QUALITY = {
    "StrengthsFinder": 4.4,
    "Human Ware": 3.9,
    "Human-Centered Change Management": 4.2,
    "Agile": 3.7,
    "Iterative Methodologies & Mindset": 3.5,
    "Product & Quality Management": 4.0,
    "Resilience & Wellbeing": 4.5,
    "Remote Teams": 4.1,
    "Crisis Communication": 4.3,
    "Data Science & Journalism": 3.6,
}
MOST_USEFUL = [
    "Working on our own cases with peers from the other administrations.",
    "The practical tools for running a change project.",
    "Meeting colleagues from the region who face the same problems.",
    "The exercises on user research; I have already planned one back at work.",
    "Seeing how other ministries organise their digital services.",
    "Concrete examples from public administrations, not only from companies.",
]
TO_IMPROVE = [
    "More time for group work and fewer slides.",
    "Send the materials a week before the sessions.",
    "Longer breaks between sessions.",
    "A follow-up session a few months later would help.",
    "Some sessions overlapped in content.",
    "",
    "",
]
EXAMPLES = [
    "We mapped the user journey of our e-service and removed two steps.",
    "I now run short weekly planning meetings with my team.",
    "We introduced a feedback form for citizens on our portal.",
    "I used the change-management canvas to prepare our reorganisation.",
    "Not yet, but our unit plans a pilot with agile sprints next quarter.",
]


def seed_evaluations(rng: random.Random) -> int:
    """Evaluations with answers for the past editions; returns the number of forms created."""
    created = 0
    for slug, follow_up in (
        ("digital-transformation-2019", True),
        ("rapid-innovation-lab-2020", False),
    ):
        edition = db.session.scalar(sa.select(Edition).where(Edition.slug == slug))
        if edition is None or db.session.scalar(
            sa.select(EvaluationForm.id).where(EvaluationForm.edition_id == edition.id)
        ):
            continue
        _answered_form(edition, FormKind.EVALUATION, rng, share=0.85)
        created += 1
        if follow_up:
            _answered_form(edition, FormKind.FOLLOW_UP, rng, share=0.6)
            created += 1
    return created


def _answered_form(edition: Edition, kind: FormKind, rng: random.Random, share: float) -> None:
    # Each answer is committed on its own, as a participant's is. Nothing else writes meanwhile,
    # so the objects need not be reloaded after every commit (that took most of the seeding).
    session = db.session()
    reloading, session.expire_on_commit = session.expire_on_commit, False
    try:
        _answer_form(edition, kind, rng, share)
    finally:
        session.expire_on_commit = reloading


def _answer_form(edition: Edition, kind: FormKind, rng: random.Random, share: float) -> None:
    form = authoring.create_form(edition, kind, 6 if kind == FormKind.FOLLOW_UP else None)
    openings = answering.scheduled_openings(form)
    authoring.publish(form, now=min(filter(None, openings.values())) - timedelta(days=1))
    for part in form.parts:
        opens_at = openings[part.id]
        day = (opens_at or form.published_at).date()
        quality = (
            MODULE_QUALITY.get(part.edition_module.module.name, 4.0) if part.edition_module else 4.1
        )
        eligible = db.session.scalars(answering.eligible_registrations(part)).all()
        for registration_id in eligible:
            if rng.random() > share:
                continue
            registration = db.session.get(Registration, registration_id)
            values = _answers(answering.questions_for(part), quality, rng)
            answering.submit(part, registration, values, day + timedelta(days=rng.randint(0, 6)))
    authoring.close(form, now=max(filter(None, openings.values())) + timedelta(days=14))


def _answers(questions, quality: float, rng: random.Random) -> dict:
    values: dict = {}
    for q in questions:
        if q.kind == QuestionKind.RATING:
            values[q.id] = min(5, max(1, round(rng.gauss(quality, 0.8))))
        elif q.kind == QuestionKind.SCALE:
            values[q.id] = min(10, max(0, round(rng.gauss(quality * 2 - 0.3, 1.5))))
        elif q.kind == QuestionKind.SINGLE:
            values[q.id] = rng.choices(
                range(len(q.choices)), weights=[4, 3, 2, 1][: len(q.choices)]
            )[0]
        elif q.kind == QuestionKind.MULTIPLE:
            k = rng.randint(1, min(3, len(q.choices)))
            values[q.id] = sorted(rng.sample(range(len(q.choices)), k))
        elif "improve" in q.text:
            text = rng.choice(TO_IMPROVE)
            if text:
                values[q.id] = text
        elif "useful" in q.text:
            values[q.id] = rng.choice(MOST_USEFUL)
        elif "example" in q.text and rng.random() < 0.7:
            values[q.id] = rng.choice(EXAMPLES)
    return values
