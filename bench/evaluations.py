"""Evaluation results at scale: the results page of one edition and the module score trends.

    .venv/bin/python bench/evaluations.py [--editions 40] [--modules 6] [--answers 60]

Fills a fresh SQLite database with `editions` editions over ten years, each with `modules`
catalogue modules and an evaluation form whose every module part has `answers` responses
(4 ratings each), then times, warm, median of 5:

- page=results: the staff results page of one edition (GET, query count);
- trends: `module_score_trends()` over all years (one GROUP BY query).

The last line is `editions=E answers=A page=results queries=Q median_ms=M trends_ms=T`.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--editions", type=int, default=40)
    parser.add_argument("--modules", type=int, default=6)
    parser.add_argument("--answers", type=int, default=60, help="responses per module part")
    args = parser.parse_args()

    import sqlalchemy as sa

    from schoolmgr import create_app
    from schoolmgr.evaluations import authoring, reporting
    from schoolmgr.extensions import db
    from schoolmgr.models import (
        Edition,
        EditionModule,
        EvaluationAnswer,
        EvaluationResponse,
        FormKind,
        Module,
        QuestionScope,
        Role,
        User,
    )
    from tests.querycount import count_queries

    tmp = Path(tempfile.mkdtemp())
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite3'}"})
    rng = random.Random(13)
    with app.app_context():
        db.create_all()
        catalogue = [Module(name=f"Module {i}", slug=f"module-{i}") for i in range(10)]
        staff = User(email="staff@example.org", full_name="Staff", role=Role.STAFF)
        db.session.add_all([*catalogue, staff])
        db.session.flush()
        forms = []
        for e in range(args.editions):
            start = date(2016 + e % 10, 9, 1) + timedelta(days=e)
            edition = Edition(
                title=f"Edition {e}",
                slug=f"edition-{e}",
                start_date=start,
                end_date=start + timedelta(days=4),
            )
            for position, module in enumerate(rng.sample(catalogue, args.modules)):
                edition.edition_modules.append(EditionModule(module=module, position=position))
            db.session.add(edition)
            db.session.flush()
            form = authoring.create_form(edition, FormKind.EVALUATION)
            authoring.publish(form)
            forms.append(form)
            module_questions = [q.id for q in form.questions if q.scope == QuestionScope.MODULE]
            responses, answers = [], []
            for part in form.parts:
                if part.edition_module_id is None:
                    continue
                for _ in range(args.answers):
                    rid = rng.randbytes(16).hex()
                    responses.append({"id": rid, "part_id": part.id, "submitted_on": start})
                    answers += [
                        {
                            "response_id": rid,
                            "question_id": q,
                            "item": 0,
                            "number": rng.randint(1, 5),
                        }
                        for q in module_questions
                    ]
            db.session.execute(sa.insert(EvaluationResponse), responses)
            db.session.execute(sa.insert(EvaluationAnswer), answers)
            db.session.commit()
        total = db.session.scalar(sa.select(sa.func.count()).select_from(EvaluationAnswer))

        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = staff.get_id()
            session["_fresh"] = True
        url = f"/staff/evaluations/{forms[len(forms) // 2].id}/results"
        assert client.get(url).status_code == 200
        timings = []
        for _ in range(5):
            db.session.expire_all()
            with count_queries() as queries:
                started = time.perf_counter()
                assert client.get(url).status_code == 200
                timings.append((time.perf_counter() - started) * 1000)
        trends = []
        for _ in range(5):
            started = time.perf_counter()
            reporting.module_score_trends()
            trends.append((time.perf_counter() - started) * 1000)
        print(
            f"editions={args.editions} answers={total} page=results queries={queries.count} "
            f"median_ms={statistics.median(timings):.0f} trends_ms={statistics.median(trends):.0f}"
        )


if __name__ == "__main__":
    main()
