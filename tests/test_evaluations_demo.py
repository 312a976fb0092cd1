"""The demo school has answered evaluations and one follow-up, so results show on first run."""

import sqlalchemy as sa

from schoolmgr.demo import seed_demo
from schoolmgr.evaluations import reporting
from schoolmgr.extensions import db
from schoolmgr.models import Edition, EvaluationForm, FormKind


def test_past_editions_have_closed_evaluations_with_answers_and_one_follow_up(app):
    seed_demo()
    seed_demo()  # idempotent
    forms = db.session.scalars(sa.select(EvaluationForm).order_by(EvaluationForm.id)).all()
    assert sorted((f.edition.slug, f.kind) for f in forms) == [
        ("digital-transformation-2019", FormKind.EVALUATION),
        ("digital-transformation-2019", FormKind.FOLLOW_UP),
        ("rapid-innovation-lab-2020", FormKind.EVALUATION),
    ]
    for form in forms:
        assert form.is_closed
        results = reporting.form_results(form)
        assert all(r.responses >= reporting.MIN_GROUP_SIZE for r in results)
        assert all(r.responses <= r.eligible for r in results)
    trends = reporting.module_score_trends()
    agile = {t.year: t for t in trends if t.module_name == "Agile"}
    assert set(agile) == {2019, 2020} and all(1 <= t.mean <= 5 for t in agile.values())
    edition = db.session.scalar(sa.select(Edition).where(Edition.slug.like("digital%2019")))
    follow_up = next(f for f in forms if f.kind == FormKind.FOLLOW_UP)
    assert follow_up.edition_id == edition.id and follow_up.follow_up_months == 6
