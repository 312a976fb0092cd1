"""Evaluation forms: template, editing until the first answer, opening, answering once,
results, invitations and reminders, anonymity, and the module score trends for Reports."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from schoolmgr.evaluations import answering, authoring, reporting, sending
from schoolmgr.evaluations.errors import EvaluationError
from schoolmgr.extensions import db
from schoolmgr.models import (
    EvaluationAnswer,
    EvaluationInvitation,
    EvaluationResponse,
    EvaluationResponseAuthor,
    EvaluationSubmission,
    FormKind,
    QuestionKind,
    QuestionScope,
    RegistrationStatus,
    utcnow,
)
from tests import factories as F  # noqa: N812
from tests.evaluation_world import edition_answers, evaluation_world, module_answers

TODAY = date(2026, 1, 5)


def answer_module(world, registration, em=None, **ratings):
    part = world.part(em or world.em1)
    answering.submit(part, registration, module_answers(part, **ratings), TODAY)


# --- the template and editing -----------------------------------------------------------------


def test_a_new_evaluation_has_the_template_questions_and_one_part_per_module_and_edition(app):
    world = evaluation_world(publish=False)
    form = world.form
    module_qs = [q.text for q in form.questions if q.scope == QuestionScope.MODULE]
    edition_qs = [(q.text, q.kind) for q in form.questions if q.scope == QuestionScope.EDITION]
    assert module_qs == [
        "The content of the module",
        "Its relevance to my job",
        "The trainer",
        "The materials",
    ]
    assert ("The organisation", QuestionKind.RATING) in edition_qs
    assert ("The venue", QuestionKind.RATING) in edition_qs
    assert ("What should we improve?", QuestionKind.LONG_TEXT) in edition_qs
    assert edition_qs[-1][1] == QuestionKind.SCALE  # would you recommend, 0-10
    assert sorted(p.edition_module_id or 0 for p in form.parts) == sorted(
        [0, world.em1.id, world.em2.id]
    )
    assert not form.named


def test_an_online_edition_asks_about_the_online_platform(app):
    from schoolmgr.models import EditionFormat

    world = evaluation_world(publish=False, format=EditionFormat.ONLINE)
    assert "The online platform" in [q.text for q in world.form.questions]


def test_a_follow_up_has_the_short_form_with_the_modules_as_choices(app):
    world = evaluation_world(publish=False)
    follow_up = authoring.create_form(world.edition, FormKind.FOLLOW_UP, 6)
    texts = [q.text for q in follow_up.questions]
    assert texts == [
        "Have you applied what you learned?",
        "Give one example",
        "Which modules were most useful now?",
    ]
    assert follow_up.questions[2].choices == ["Agile", "Human Ware"]
    assert [p.edition_module_id for p in follow_up.parts] == [None]
    with pytest.raises(EvaluationError) as err:
        authoring.create_form(world.edition, FormKind.FOLLOW_UP, 4)
    assert err.value.code == "bad_months"


def test_staff_add_reorder_change_and_remove_questions_of_every_kind(app):
    world = evaluation_world(publish=False)
    form = world.form
    for kind in QuestionKind:
        authoring.add_question(
            form,
            scope=QuestionScope.EDITION,
            kind=kind,
            text=f"About {kind.value}",
            required=False,
            choices=["One", "Two", "One", " "] if kind.has_choices else [],
        )
    added = [q for q in form.questions if q.text.startswith("About")]
    assert [q.kind for q in added] == list(QuestionKind)
    assert added[2].choices == ["One", "Two"]  # duplicates and blanks dropped
    assert added[0].choices == []

    authoring.move_question(added[1], "up")
    db.session.expire_all()
    texts = [q.text for q in form.questions if q.text.startswith("About")]
    assert texts[:2] == ["About scale", "About rating"]

    authoring.update_question(
        added[0], kind=QuestionKind.SCALE, text="Changed", help="", required=True, choices=[]
    )
    authoring.delete_question(added[5])
    db.session.expire_all()
    assert "Changed" in [q.text for q in form.questions]
    assert "About long_text" not in [q.text for q in form.questions]

    with pytest.raises(EvaluationError) as err:
        authoring.add_question(
            form, scope=QuestionScope.EDITION, kind=QuestionKind.SINGLE, text="x", choices=["a"]
        )
    assert err.value.code == "few_choices"


def test_a_form_cannot_change_once_the_first_answer_came_in_but_a_copy_can(app):
    world = evaluation_world()
    answer_module(world, world.registrations[0])
    question = world.form.questions[0]
    with pytest.raises(EvaluationError) as err:
        authoring.update_question(
            question, kind=QuestionKind.RATING, text="New", help="", required=True, choices=[]
        )
    assert err.value.code == "locked"
    for change in (
        lambda: authoring.delete_question(question),
        lambda: authoring.move_question(question, "down"),
        lambda: authoring.update_settings(
            world.form, title="x", intro="", named=True, reminder_days=3
        ),
        lambda: authoring.add_question(
            world.form, scope=QuestionScope.MODULE, kind=QuestionKind.RATING, text="x"
        ),
    ):
        with pytest.raises(EvaluationError):
            change()

    copy = authoring.copy_form(world.form)
    assert copy.published_at is None and copy.copied_from_id == world.form.id
    assert [q.text for q in copy.questions] == [q.text for q in world.form.questions]
    authoring.update_question(
        copy.questions[0], kind=QuestionKind.RATING, text="New", help="", required=True, choices=[]
    )
    # Only one open form of a kind per edition: the copy waits until the first is closed.
    with pytest.raises(EvaluationError) as err:
        authoring.publish(copy)
    assert err.value.code == "other_open"
    authoring.close(world.form)
    authoring.publish(copy)


# --- opening and who may answer ---------------------------------------------------------------


def test_module_parts_open_after_their_last_session_and_the_edition_part_after_the_last(app):
    edition = F.EditionFactory()  # in 30 days
    em1 = F.EditionModuleFactory(edition=edition)
    em2 = F.EditionModuleFactory(edition=edition)
    s1 = F.SessionFactory(edition_module=em1)
    s2 = F.SessionFactory(edition_module=em2, starts_at=s1.starts_at + timedelta(days=1))
    form = authoring.create_form(edition, FormKind.EVALUATION)
    authoring.publish(form)
    openings = answering.scheduled_openings(form)
    by_em = {p.edition_module_id: p for p in form.parts}
    assert openings[by_em[em1.id].id] == s1.ends_at
    assert openings[by_em[None].id] == s2.ends_at

    between = s1.ends_at + timedelta(minutes=1)
    assert answering.part_is_open(by_em[em1.id], openings, between)
    assert not answering.part_is_open(by_em[em2.id], openings, between)
    assert not answering.part_is_open(by_em[None], openings, between)
    assert not answering.part_is_open(by_em[em1.id], openings, s1.ends_at - timedelta(minutes=1))

    authoring.open_part_now(by_em[em2.id], now=between)  # by hand, before its time
    assert answering.part_is_open(by_em[em2.id], openings, between)


def test_a_follow_up_opens_three_or_six_months_after_the_edition(app):
    world = evaluation_world(publish=False)  # ends 2019-09-20
    follow_up = authoring.create_form(world.edition, FormKind.FOLLOW_UP, 6)
    authoring.publish(follow_up)
    opens_at = answering.scheduled_openings(follow_up)[follow_up.parts[0].id]
    assert opens_at.astimezone(world.edition.tz).date() == date(2020, 3, 20)


def test_only_accepted_participants_who_attended_the_module_may_answer(app):
    world = evaluation_world(participants=1)
    part = world.part(world.em1)
    answering.answerable(world.registrations[0].user, part)
    for user in (world.absent.user, F.UserFactory(), world.trainer):
        with pytest.raises(EvaluationError) as err:
            answering.answerable(user, part)
        assert err.value.code == "not_eligible"
    world.registrations[0].status = RegistrationStatus.CANCELLED
    db.session.commit()
    with pytest.raises(EvaluationError):
        answering.answerable(world.registrations[0].user, part)


def test_a_draft_or_closed_form_cannot_be_answered(app):
    world = evaluation_world(participants=1, publish=False)
    user = world.registrations[0].user
    with pytest.raises(EvaluationError) as err:
        answering.answerable(user, world.part(world.em1))
    assert err.value.code == "not_open"
    authoring.publish(world.form)
    authoring.close(world.form)
    with pytest.raises(EvaluationError) as err:
        answering.answerable(user, world.part(world.em1))
    assert err.value.code == "not_open"


def test_each_participant_answers_each_part_once_and_the_response_rate_is_exact(app):
    world = evaluation_world(participants=4)
    answer_module(world, world.registrations[0])
    with pytest.raises(EvaluationError) as err:
        answer_module(world, world.registrations[0])
    assert err.value.code == "already_answered"
    with pytest.raises(EvaluationError):
        answering.answerable(world.registrations[0].user, world.part(world.em1))
    answer_module(world, world.registrations[1])
    answer_module(world, world.registrations[0], em=world.em2)  # another part: allowed
    result = reporting.form_results(world.form, [world.part(world.em1)])[0]
    assert (result.responses, result.eligible, result.rate) == (2, 4, 50.0)


def test_answers_are_checked_against_the_questions(app):
    world = evaluation_world(participants=1)
    questions = answering.questions_for(world.part(None))
    rating, scale = questions[0], questions[-1]
    text = next(q for q in questions if q.kind == QuestionKind.LONG_TEXT)
    values, errors = answering.clean_answers(
        questions, {rating.id: ["6"], scale.id: ["10"], text.id: ["x" * 5001]}
    )
    assert set(errors) >= {rating.id, text.id}
    assert values[scale.id] == 10
    assert errors[questions[1].id] == "Please answer this question."  # required, missing
    values, errors = answering.clean_answers(questions, {rating.id: ["3", "4"]})
    assert rating.id in errors
    values, errors = answering.clean_answers(questions, {rating.id: ["-1"]})
    assert rating.id in errors


# --- anonymity --------------------------------------------------------------------------------


def test_answer_tables_have_no_link_to_people_no_fine_time_and_no_sequential_key(app):
    for table in (EvaluationResponse.__table__, EvaluationAnswer.__table__):
        targets = {fk.column.table.name for fk in table.foreign_keys}
        assert targets <= {"evaluation_parts", "evaluation_questions", "evaluation_responses"}
        assert not [c for c in table.columns if isinstance(c.type, sa.DateTime)]
        assert not any(
            "user" in c.name or "registration" in c.name or "person" in c.name
            for c in table.columns
        )
    key = EvaluationResponse.__table__.c.id
    assert isinstance(key.type, sa.String)  # random, not an autoincrement integer
    # The "has answered" record holds nothing that could be matched with an answer either.
    assert {c.name for c in EvaluationSubmission.__table__.columns} == {
        "part_id",
        "registration_id",
    }


def test_no_query_can_join_an_anonymous_answer_to_a_person(app):
    """Whatever the answer rows hold, nothing in them matches the submission records' order."""
    world = evaluation_world(participants=6)
    for n, registration in enumerate(world.registrations):
        answer_module(world, registration, content=1 + n % 5)
    responses = db.session.scalars(sa.select(EvaluationResponse)).all()
    assert {r.submitted_on for r in responses} == {TODAY}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EvaluationResponseAuthor)) == 0
    # The only columns an answer shares with anything are the part and the question.
    shared = set(EvaluationResponse.__table__.c.keys()) & set(
        EvaluationSubmission.__table__.c.keys()
    )
    assert shared == {"part_id"}
    # The keys are random: their order says nothing about the order of answering.
    ids = [r.id for r in responses]
    assert all(len(i) == 32 for i in ids) and len(set(ids)) == 6


def test_a_named_form_keeps_who_answered_in_its_own_table(app):
    world = evaluation_world(participants=2, publish=False)
    authoring.update_settings(
        world.form, title=world.form.title, intro="", named=True, reminder_days=7
    )
    authoring.publish(world.form)
    answer_module(world, world.registrations[0])
    author = db.session.scalars(sa.select(EvaluationResponseAuthor)).one()
    assert author.registration_id == world.registrations[0].id


# --- results ----------------------------------------------------------------------------------


def test_results_give_distribution_mean_median_and_free_text(app):
    world = evaluation_world(participants=5)
    for registration, content in zip(world.registrations, [5, 4, 4, 2, 5], strict=True):
        answer_module(world, registration, content=content)
    edition_part = world.part(None)
    for registration, improve in zip(
        world.registrations[:2], ["More breaks", "Longer sessions"], strict=True
    ):
        answering.submit(
            edition_part, registration, edition_answers(edition_part, improve=improve), TODAY
        )
    results = {r.part.edition_module_id: r for r in reporting.form_results(world.form)}
    content = results[world.em1.id].questions[0]
    assert content.counts == [("1", 0), ("2", 1), ("3", 0), ("4", 2), ("5", 2)]
    assert (content.mean, content.median, content.answered) == (4.0, 4.0, 5)
    improve = next(q for q in results[None].questions if "improve" in q.question.text)
    assert improve.texts == ["Longer sessions", "More breaks"]  # sorted, not by arrival
    recommend = results[None].questions[-1]
    assert recommend.counts[9] == ("9", 2) and recommend.mean == 9.0
    headers, rows = reporting.module_comparison(list(results.values()))
    assert headers[0] == "The content of the module"
    assert ("Agile", 5, [4.0, 5.0, 3.0, 4.0]) in rows


def test_median_of_an_even_number_of_answers_is_the_middle_of_the_two(app):
    assert reporting.mean_and_median({1: 1, 4: 1, 5: 2}) == (3.75, 4.5)
    assert reporting.mean_and_median({}) == (None, None)


def test_trainers_see_their_own_module_only_once_closed_with_five_answers(app):
    world = evaluation_world(participants=6)
    part = world.part(world.em1)
    for registration in world.registrations[:4]:
        answer_module(world, registration)
    assert reporting.may_see_part_results(F.UserFactory(role="staff"), part, 4)
    authoring.close(world.form)
    assert not reporting.may_see_part_results(world.trainer, part, 4)  # too few
    assert reporting.may_see_part_results(world.trainer, part, 5)
    assert not reporting.may_see_part_results(world.otrainer, part, 5)
    assert not reporting.may_see_part_results(world.trainer, world.part(None), 5)


def test_the_xlsx_has_one_sheet_per_part_with_the_page_figures(app):
    from io import BytesIO

    from openpyxl import load_workbook

    world = evaluation_world(participants=5)
    for registration, content in zip(world.registrations, [5, 4, 4, 2, 5], strict=True):
        answer_module(world, registration, content=content)
    book = load_workbook(BytesIO(reporting.results_xlsx(world.form)))
    assert book.sheetnames == ["Agile", "Human Ware", "The edition as a whole"]
    sheet = book["Agile"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[2][:2] == ["Responses", 5]
    content = next(r for r in rows if r[0] == "The content of the module")
    assert content[2:5] == [5, 4.0, 4.0]
    assert content[5:10] == ["1: 0", "2: 1", "3: 0", "4: 2", "5: 2"]
    text = " ".join(str(c) for r in rows for c in r if c is not None)
    assert "Čolić" not in text  # no names in an anonymous export


# --- invitations and reminders ----------------------------------------------------------------


def test_sending_invites_once_and_reminds_once_after_the_configured_days(app, outbox):
    world = evaluation_world(participants=2)
    now = datetime(2026, 1, 5, 8, tzinfo=UTC)
    first = sending.send_due(now)
    # Every part is open (a past edition): one email per participant with three links.
    assert (first.emails, first.invited) == (2, 6)
    db.session.commit()
    assert sending.send_due(now).emails == 0
    assert sending.send_due(now + timedelta(days=3)).emails == 0  # twice: nothing twice

    answer_module(world, world.registrations[0])
    later = now + timedelta(days=world.form.reminder_days)
    reminders = sending.send_due(later)
    assert (reminders.emails, reminders.reminded) == (2, 5)
    assert sending.send_due(later + timedelta(days=30)).emails == 0
    reminded = db.session.scalars(
        sa.select(EvaluationInvitation).where(EvaluationInvitation.reminded_at.is_not(None))
    ).all()
    assert len(reminded) == 5  # the answered part was not reminded

    from schoolmgr.mail import deliver_pending

    deliver_pending()
    subjects = sorted(m["Subject"] for m in outbox)
    assert subjects.count(f"Your evaluation of {world.edition.title} is waiting") == 2
    assert len(subjects) == 4
    body = outbox[0].get_body(("plain",)).get_content()
    assert "/evaluations/" in body and "anonymous" in body


def test_absent_participants_are_not_invited(app):
    world = evaluation_world(participants=1)
    sending.send_due(utcnow())
    invited = set(db.session.scalars(sa.select(EvaluationInvitation.registration_id)))
    assert invited == {world.registrations[0].id}


def test_the_cli_command_sends_and_says_how_many(app, runner):
    evaluation_world(participants=2)
    result = runner.invoke(args=["evaluations", "send"])
    assert "invited=6 reminded=0 emails=2 delivered=2" in result.output
    again = runner.invoke(args=["evaluations", "send"])
    assert "emails=0" in again.output


# --- for the Reports area ---------------------------------------------------------------------


def test_module_score_trends_per_module_and_year_from_sql(app):
    world = evaluation_world(participants=2)  # 2019
    answer_module(world, world.registrations[0], content=5, relevance=5, trainer=5, materials=5)
    answer_module(world, world.registrations[1], content=1, relevance=3, trainer=3, materials=3)
    later = evaluation_world(
        participants=1, start_date=date(2021, 9, 13), end_date=date(2021, 9, 17)
    )
    answer_module(later, later.registrations[0], em=later.em2, content=4, relevance=4)
    trends = reporting.module_score_trends()
    by_key = {(t.module_name, t.year): (t.mean, t.answers) for t in trends}
    assert by_key[("Agile", 2019)] == (3.75, 8)
    assert by_key[("Human Ware", 2021)] == (3.75, 4)
    assert reporting.module_score_trends(years=[2021])[0].year == 2021
    assert reporting.module_score_trends(kinds=["webinar"]) == []
    assert len(reporting.module_score_trends(kinds=["seasonal_school"], years=[2019, 2021])) == 2


def test_module_score_trends_is_one_query(app):
    from tests.querycount import count_queries

    evaluation_world(participants=1)
    with count_queries() as queries:
        reporting.module_score_trends([2019], ["seasonal_school"])
    assert queries.count == 1, queries


def test_no_chain_of_foreign_keys_leads_from_an_answer_to_a_person(app):
    """Following foreign keys from the answer tables reaches the edition and its modules, never
    a registration or a user: a join can only say "someone at this edition"."""
    tables = {t.name: t for t in db.metadata.sorted_tables}
    seen, todo = set(), ["evaluation_answers", "evaluation_responses"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(fk.column.table.name for fk in tables[name].foreign_keys)
    assert "evaluation_responses" in seen and "editions" in seen
    assert not seen & {"users", "registrations", "evaluation_submissions", "attendances"}
