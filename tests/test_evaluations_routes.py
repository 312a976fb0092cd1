"""Evaluation pages: staff build and publish a form, participants answer once, results pages
(staff, trainers after closing with 5+ answers), the XLSX, and no page naming anonymous authors."""

from datetime import date
from html.parser import HTMLParser
from io import BytesIO

import sqlalchemy as sa

from schoolmgr.evaluations import answering, authoring
from schoolmgr.extensions import db
from schoolmgr.models import (
    EvaluationForm,
    EvaluationResponse,
    EvaluationSubmission,
    FormKind,
    QuestionKind,
    Role,
)
from tests import factories as F  # noqa: N812
from tests.evaluation_world import evaluation_world, module_answers


def staff(login):
    return login(role=Role.STAFF)


def fill_module_part(world, ratings):
    part = world.part(world.em1)
    for registration, content in zip(world.registrations, ratings, strict=False):
        values = module_answers(part, content=content)
        answering.submit(part, registration, values, date(2026, 1, 5))
    return part


def test_staff_create_a_form_from_the_template_and_edit_it(client, login, app):
    staff(login)
    world = evaluation_world(publish=False)
    db.session.delete(world.form)
    db.session.commit()
    page = client.get(f"/staff/editions/{world.edition.slug}/evaluations")
    assert "No evaluation form yet" in page.get_data(as_text=True)

    response = client.post(
        f"/staff/editions/{world.edition.slug}/evaluations", data={"kind": "evaluation"}
    )
    assert response.status_code == 303
    form = db.session.scalars(sa.select(EvaluationForm)).one()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The content of the module" in page and "Asked for each module" in page

    response = client.post(
        f"/staff/evaluations/{form.id}/questions",
        data={
            "scope": "edition",
            "kind": "single",
            "text": "How did you hear of us?",
            "choices": "A colleague\nThe website\n",
            "required": "y",
        },
    )
    assert response.status_code == 303
    added = next(q for q in form.questions if q.text == "How did you hear of us?")
    assert added.choices == ["A colleague", "The website"]

    response = client.post(
        f"/staff/evaluations/{form.id}",
        data={"title": "Tell us", "intro": "Five minutes.", "named": "y", "reminder_days": "3"},
    )
    assert response.status_code == 303
    db.session.refresh(form)
    assert (form.title, form.named, form.reminder_days) == ("Tell us", True, 3)

    response = client.post(
        f"/staff/evaluations/{form.id}/questions",
        data={"scope": "edition", "kind": "multiple", "text": "Pick", "choices": "only one"},
    )
    assert response.status_code == 400
    assert "at least two options" in response.get_data(as_text=True)


def test_staff_follow_up_needs_months_and_gets_the_short_form(client, login):
    staff(login)
    world = evaluation_world(publish=False)
    response = client.post(
        f"/staff/editions/{world.edition.slug}/evaluations",
        data={"kind": "follow_up", "follow_up_months": "6"},
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "6 months after the edition" in page
    assert "Have you applied what you learned?" in page
    bad = client.post(
        f"/staff/editions/{world.edition.slug}/evaluations",
        data={"kind": "follow_up", "follow_up_months": "5"},
    )
    assert bad.status_code == 400


def test_a_locked_form_shows_no_editing_and_refuses_changes(client, login):
    staff(login)
    world = evaluation_world()
    fill_module_part(world, [4])
    page = client.get(f"/staff/evaluations/{world.form.id}").get_data(as_text=True)
    assert "can no longer change" in page and "Add a question" not in page
    question = answering.questions_for(world.part(world.em1))[0]
    response = client.post(
        f"/staff/evaluation-questions/{question.id}",
        data={"kind": "rating", "text": "Changed", "required": "y"},
    )
    assert response.status_code == 409
    db.session.refresh(question)
    assert question.text == "The content of the module"
    response = client.post(f"/staff/evaluations/{world.form.id}/copy")
    copy = db.get_or_404(EvaluationForm, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert copy.copied_from_id == world.form.id and not copy.is_published


def test_participants_see_the_waiting_evaluation_and_answer_it_once(client, login):
    world = evaluation_world(participants=1)
    registration = world.registrations[0]
    login(registration.user)
    dashboard = client.get("/me/registrations").get_data(as_text=True)
    assert "Your evaluation is waiting" in dashboard
    part = world.part(world.em1)
    page = client.get(f"/evaluations/{part.id}").get_data(as_text=True)
    assert "Your answers are anonymous." in page
    questions = answering.questions_for(part)

    incomplete = client.post(f"/evaluations/{part.id}", data={f"q{questions[0].id}": "5"})
    assert incomplete.status_code == 400
    assert "Please answer this question." in incomplete.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EvaluationResponse)) == 0

    data = {f"q{q.id}": str(v) for q, v in zip(questions, [5, 4, 3, 2], strict=True)}
    response = client.post(f"/evaluations/{part.id}", data=data, follow_redirects=True)
    assert "Thank you: your answers are saved." in response.get_data(as_text=True)
    again = client.post(f"/evaluations/{part.id}", data=data)
    assert again.status_code == 409
    assert "already answered" in again.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EvaluationResponse)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EvaluationSubmission)) == 1
    dashboard = client.get("/me/registrations").get_data(as_text=True)
    assert f"/evaluations/{part.id}" not in dashboard


def test_a_named_form_says_so_before_the_participant_answers(client, login):
    world = evaluation_world(participants=1, publish=False)
    world.form.named = True
    db.session.commit()
    authoring.publish(world.form)
    login(world.registrations[0].user)
    page = client.get(f"/evaluations/{world.part(world.em1).id}").get_data(as_text=True)
    assert "This form is named." in page


def test_an_absent_participant_cannot_answer(client, login):
    world = evaluation_world(participants=1)
    login(world.absent.user)
    assert client.get(f"/evaluations/{world.part(world.em1).id}").status_code == 403
    assert "Your evaluation is waiting" not in client.get("/me/registrations").get_data(
        as_text=True
    )


class SvgCharts(HTMLParser):
    """The <svg> charts of a page with their <title> and <desc>."""

    def __init__(self):
        super().__init__()
        self.charts: list[dict] = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self.charts.append({"attrs": dict(attrs), "title": "", "desc": "", "rects": 0})
        elif tag in ("title", "desc") and self.charts:
            self._in = tag
        elif tag == "rect" and self.charts:
            self.charts[-1]["rects"] += 1

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in and self.charts:
            self.charts[-1][self._in] += data


def test_staff_results_show_rate_charts_tables_and_modules_side_by_side(client, login):
    staff(login)
    world = evaluation_world(participants=5)
    fill_module_part(world, [5, 4, 4, 2, 5])
    page = client.get(f"/staff/evaluations/{world.form.id}/results").get_data(as_text=True)
    assert "5 / 5" in page and "response rate 100.0%" in page
    assert "mean 4.0" in page and "median 4.0" in page
    parser = SvgCharts()
    parser.feed(page)
    content_chart = next(c for c in parser.charts if c["title"] == "The content of the module")
    assert content_chart["attrs"]["role"] == "img"
    assert "1: 0, 2: 1, 3: 0, 4: 2, 5: 2" in content_chart["desc"]
    assert content_chart["rects"] == 5
    assert "<script" not in page.split("<main", 1)[-1].split("</main>")[0]
    assert "Modules side by side" in page


def test_the_xlsx_download_has_the_numbers_of_the_page(client, login):
    from openpyxl import load_workbook

    staff(login)
    world = evaluation_world(participants=5)
    fill_module_part(world, [5, 4, 4, 2, 5])
    response = client.get(f"/staff/evaluations/{world.form.id}/results.xlsx")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(BytesIO(response.data))
    rows = list(book["Agile"].iter_rows(values_only=True))
    content = next(r for r in rows if r[0] == "The content of the module")
    assert content[2:5] == (5, 4.0, 4.0)


def test_trainers_see_their_module_results_only_when_closed_with_five_answers(client, login):
    world = evaluation_world(participants=6)
    part = fill_module_part(world, [5, 4, 4, 2])
    login(world.trainer)
    module_page = client.get(f"/trainer/modules/{world.em1.id}").get_data(as_text=True)
    assert f"/evaluations/parts/{part.id}/results" in module_page
    refused = client.get(f"/evaluations/parts/{part.id}/results")
    assert refused.status_code == 403 and "at least 5" in refused.get_data(as_text=True)

    answering.submit(part, world.registrations[4], module_answers(part), date(2026, 1, 5))
    assert client.get(f"/evaluations/parts/{part.id}/results").status_code == 403  # still open
    authoring.close(world.form)
    page = client.get(f"/evaluations/parts/{part.id}/results")
    assert page.status_code == 200 and "mean 3.8" in page.get_data(as_text=True)

    login(world.otrainer)
    assert client.get(f"/evaluations/parts/{part.id}/results").status_code == 403


def test_no_page_or_export_names_who_wrote_an_anonymous_answer(client, login):
    world = evaluation_world(participants=5)
    edition_part = world.part(None)
    for n, registration in enumerate(world.registrations):
        values = {
            q.id: (4 if q.kind.is_numeric else f"Remark number {n}")
            for q in answering.questions_for(edition_part)
        }
        answering.submit(edition_part, registration, values, date(2026, 1, 5))
    fill_module_part(world, [5, 4, 4, 2, 5])
    staff(login)
    names = [r.user.full_name for r in world.registrations] + [
        r.user.email for r in world.registrations
    ]
    pages = [
        client.get(f"/staff/evaluations/{world.form.id}/results").get_data(as_text=True),
        client.get(f"/evaluations/parts/{edition_part.id}/results").get_data(as_text=True),
        client.get(f"/staff/evaluations/{world.form.id}").get_data(as_text=True),
    ]
    from openpyxl import load_workbook

    book = load_workbook(
        BytesIO(client.get(f"/staff/evaluations/{world.form.id}/results.xlsx").data)
    )
    pages.append(
        " ".join(
            str(c) for s in book.worksheets for r in s.iter_rows(values_only=True) for c in r if c
        )
    )
    for text in pages:
        assert "Remark number" in text or "The content of the module" in text
        assert not [name for name in names if name in text]


def test_the_staff_edition_page_links_to_its_evaluations(client, login):
    staff(login)
    edition = F.EditionFactory()
    page = client.get(f"/staff/editions/{edition.slug}").get_data(as_text=True)
    assert f"/staff/editions/{edition.slug}/evaluations" in page


def test_publishing_and_opening_by_hand_from_the_page(client, login):
    staff(login)
    edition = F.EditionFactory()  # in the future: nothing opens by itself
    em = F.EditionModuleFactory(edition=edition)
    F.SessionFactory(edition_module=em)
    form = authoring.create_form(edition, FormKind.EVALUATION)
    assert client.post(f"/staff/evaluations/{form.id}/publish").status_code == 303
    part = next(p for p in form.parts if p.edition_module_id == em.id)
    page = client.get(f"/staff/evaluations/{form.id}").get_data(as_text=True)
    assert "Open now" in page
    client.post(f"/staff/evaluation-parts/{part.id}/open")
    db.session.refresh(part)
    assert part.opened_at is not None
    client.post(f"/staff/evaluations/{form.id}/close")
    db.session.refresh(form)
    assert form.is_closed


def test_question_kinds_render_as_accessible_inputs(client, login):
    world = evaluation_world(participants=1, publish=False)
    for kind in QuestionKind:
        authoring.add_question(
            world.form,
            scope=world.part(None).scope,
            kind=kind,
            text=f"Kind {kind.value}",
            required=False,
            choices=["Yes", "No"] if kind.has_choices else [],
        )
    authoring.publish(world.form)
    login(world.registrations[0].user)
    page = client.get(f"/evaluations/{world.part(None).id}").get_data(as_text=True)
    assert page.count("<fieldset") >= 8  # every rating, scale and choice is a labelled group
    assert 'type="checkbox"' in page and 'maxlength="300"' in page


def test_results_and_dashboard_take_as_many_queries_with_more_modules(client, login, app):
    from tests.querycount import count_queries

    def queries(url):
        db.session.expire_all()
        with count_queries() as log:
            assert client.get(url).status_code == 200
        return log.count

    small = evaluation_world(participants=3)
    large = evaluation_world(participants=3)
    for _ in range(4):
        em = F.EditionModuleFactory(edition=large.edition)
        F.SessionFactory(edition_module=em)
    large.form.parts.clear()
    db.session.commit()
    authoring.close(large.form)
    large.form = authoring.create_form(large.edition, FormKind.EVALUATION)
    authoring.publish(large.form)
    assert len(large.form.parts) == 7
    for world in (small, large):
        fill_module_part(world, [4, 5, 3])
    staff(login)
    assert queries(f"/staff/evaluations/{small.form.id}/results") == queries(
        f"/staff/evaluations/{large.form.id}/results"
    )
    login(small.registrations[0].user)
    few = queries("/me/registrations")
    login(large.registrations[0].user)
    assert queries("/me/registrations") == few


def test_a_named_form_shows_who_wrote_each_remark_to_staff(client, login):
    world = evaluation_world(participants=2, publish=False)
    world.form.named = True
    db.session.commit()
    authoring.publish(world.form)
    part = world.part(None)
    for registration in world.registrations:
        values = {
            q.id: (4 if q.kind.is_numeric else f"Remark by {registration.user.full_name}")
            for q in answering.questions_for(part)
        }
        answering.submit(part, registration, values, date(2026, 1, 5))
    staff(login)
    page = client.get(f"/staff/evaluations/{world.form.id}/results").get_data(as_text=True)
    name = world.registrations[0].user.full_name
    assert f"Remark by {name} ({name})" in page


def test_a_follow_up_is_answered_with_choices_and_has_its_own_results(client, login):
    world = evaluation_world(participants=1)
    authoring.close(world.form)
    follow_up = authoring.create_form(world.edition, FormKind.FOLLOW_UP, 3)
    authoring.publish(follow_up)  # 2019 + 3 months: open now
    part = follow_up.parts[0]
    applied, example, modules = answering.questions_for(part)
    login(world.registrations[0].user)
    assert "Follow-up survey" in client.get("/me/registrations").get_data(as_text=True)
    data = {
        f"q{applied.id}": "1",
        f"q{example.id}": "We shortened our approval workflow.",
        f"q{modules.id}": ["0", "1"],
    }
    assert client.post(f"/evaluations/{part.id}", data=data).status_code == 303
    staff(login)
    page = client.get(f"/staff/evaluations/{follow_up.id}/results").get_data(as_text=True)
    assert "Yes, once or twice: 1" in page and "Agile: 1, Human Ware: 1" in page
    assert "We shortened our approval workflow." in page
