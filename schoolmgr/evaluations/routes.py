"""Evaluations: staff build forms and read results; participants answer; trainers read theirs."""

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from schoolmgr.auth.access import role_required
from schoolmgr.editions import staff_edition_or_404
from schoolmgr.errors import back_on_refusal, show_on_form
from schoolmgr.evaluations import answering, authoring, charts, reporting
from schoolmgr.evaluations.errors import EvaluationError
from schoolmgr.evaluations.forms import (
    ActionForm,
    AnswerForm,
    EditQuestionForm,
    MoveForm,
    NewEvaluationForm,
    QuestionForm,
    SettingsForm,
)
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    EvaluationForm,
    EvaluationPart,
    EvaluationQuestion,
    FormKind,
    QuestionKind,
    QuestionScope,
    Role,
    utcnow,
)
from schoolmgr.timeutils import today

bp = Blueprint("evaluations", __name__)


@bp.app_template_global()
def waiting_evaluations():
    """Open parts the signed-in participant has not answered yet (the dashboard's notice)."""
    return answering.waiting_parts(current_user)


@bp.app_template_global()
def module_evaluation_parts(edition_module):
    """The evaluation parts of a module, for the link on the trainer's module page."""
    return reporting.parts_of_module(edition_module)


def _back_to_form(form: EvaluationForm):
    return redirect(url_for(".edit", form_id=form.id), 303)


def _form_url(form_id: int) -> str:
    return url_for(".edit", form_id=form_id)


def _form_url_of_question(question_id: int) -> str:
    return _form_url(db.get_or_404(EvaluationQuestion, question_id).form_id)


def _form_url_of_part(part_id: int) -> str:
    return _form_url(db.get_or_404(EvaluationPart, part_id).form_id)


def _dashboard_url(**_args) -> str:
    return url_for("registration.dashboard")


# --- staff: the forms of an edition ------------------------------------------------------------


@bp.route("/staff/editions/<slug>/evaluations", methods=["GET", "POST"])
@role_required(Role.STAFF)
def edition_forms(slug: str):
    """The edition's evaluation and follow-up forms; create one from the template."""
    edition = staff_edition_or_404(slug)
    form = NewEvaluationForm()
    status = 200
    if form.validate_on_submit():
        try:
            created = authoring.create_form(
                edition, FormKind(form.kind.data), int(form.follow_up_months.data)
            )
        except EvaluationError as error:
            show_on_form(form, error)
            status = error.status_code
        else:
            flash(_("The form was created from the template: check its questions."), "success")
            return _back_to_form(created)
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "evaluations/edition_forms.html",
            edition=edition,
            forms=authoring.forms_of(edition),
            new_form=form,
            action_form=ActionForm(),
        ),
        status,
    )


@bp.route("/staff/evaluations/<int:form_id>", methods=["GET", "POST"])
@role_required(Role.STAFF)
def edit(form_id: int):
    """A form's settings and questions, editable until the first answer comes in."""
    evaluation = db.get_or_404(EvaluationForm, form_id)
    settings = SettingsForm(obj=evaluation if request.method == "GET" else None)
    status = 200
    if settings.validate_on_submit():
        try:
            authoring.update_settings(
                evaluation,
                title=settings.title.data,
                intro=settings.intro.data or "",
                named=settings.named.data,
                reminder_days=settings.reminder_days.data,
            )
        except EvaluationError as error:
            show_on_form(settings, error)
            status = error.status_code
        else:
            flash(_("The form was saved."), "success")
            return _back_to_form(evaluation)
    elif request.method == "POST":
        status = 400
    return _edit_page(evaluation, settings=settings), status


def _edit_page(evaluation: EvaluationForm, settings=None, question_form=None):
    question_form = question_form or QuestionForm()
    if evaluation.kind == FormKind.FOLLOW_UP:
        question_form.scope.choices = [(QuestionScope.EDITION.value, QuestionScope.EDITION.label)]
        question_form.scope.data = QuestionScope.EDITION.value
    openings = answering.scheduled_openings(evaluation)
    now = utcnow()
    return render_template(
        "evaluations/edit.html",
        evaluation=evaluation,
        edition=evaluation.edition,
        settings=settings or SettingsForm(obj=evaluation),
        question_form=question_form,
        action_form=ActionForm(),
        locked=evaluation.is_closed or authoring.has_answers(evaluation),
        scopes=[s for s in QuestionScope if any(q.scope == s for q in evaluation.questions)],
        parts=[
            (part, openings.get(part.id), answering.part_is_open(part, openings, now))
            for part in evaluation.parts
        ],
    )


@bp.route("/staff/evaluations/<int:form_id>/questions", methods=["POST"])
@role_required(Role.STAFF)
def add_question(form_id: int):
    """Add a question at the end of its part."""
    evaluation = db.get_or_404(EvaluationForm, form_id)
    form = QuestionForm()
    if evaluation.kind == FormKind.FOLLOW_UP:
        form.scope.choices = [(QuestionScope.EDITION.value, QuestionScope.EDITION.label)]
    if not form.validate_on_submit():
        return _edit_page(evaluation, question_form=form), 400
    try:
        authoring.add_question(
            evaluation,
            scope=QuestionScope(form.scope.data),
            kind=QuestionKind(form.kind.data),
            text=form.text.data,
            help=form.help.data or "",
            required=form.required.data,
            choices=form.choice_list(),
        )
    except EvaluationError as error:
        show_on_form(form, error)
        return _edit_page(evaluation, question_form=form), error.status_code
    flash(_("The question was added."), "success")
    return _back_to_form(evaluation)


@bp.route("/staff/evaluation-questions/<int:question_id>", methods=["GET", "POST"])
@role_required(Role.STAFF)
def edit_question(question_id: int):
    """Change one question."""
    question = db.get_or_404(EvaluationQuestion, question_id)
    form = EditQuestionForm(obj=question if request.method == "GET" else None)
    if request.method == "GET":
        form.kind.data = question.kind.value
        form.choices.data = "\n".join(question.choices)
    status = 200
    if form.validate_on_submit():
        try:
            authoring.update_question(
                question,
                kind=QuestionKind(form.kind.data),
                text=form.text.data,
                help=form.help.data or "",
                required=form.required.data,
                choices=form.choice_list(),
            )
        except EvaluationError as error:
            show_on_form(form, error)
            status = error.status_code
        else:
            flash(_("The question was saved."), "success")
            return _back_to_form(question.form)
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "evaluations/question.html",
            question=question,
            evaluation=question.form,
            form=form,
            locked=question.form.is_closed or authoring.has_answers(question.form),
        ),
        status,
    )


@bp.route("/staff/evaluation-questions/<int:question_id>/move", methods=["POST"])
@role_required(Role.STAFF)
@back_on_refusal(_form_url_of_question)
def move_question(question_id: int):
    """Move a question up or down within its part."""
    question = db.get_or_404(EvaluationQuestion, question_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    authoring.move_question(question, form.direction.data)
    return _back_to_form(question.form)


@bp.route("/staff/evaluation-questions/<int:question_id>/delete", methods=["POST"])
@role_required(Role.STAFF)
@back_on_refusal(_form_url_of_question)
def delete_question(question_id: int):
    """Remove a question from a form that nobody has answered yet."""
    question = db.get_or_404(EvaluationQuestion, question_id)
    evaluation = question.form
    if not ActionForm().validate_on_submit():
        abort(400)
    authoring.delete_question(question)
    flash(_("The question was removed."), "success")
    return _back_to_form(evaluation)


def _form_action(form_id: int, action, done: str):
    evaluation = db.get_or_404(EvaluationForm, form_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    result = action(evaluation)
    flash(done, "success")
    return _back_to_form(result or evaluation)


@bp.route("/staff/evaluations/<int:form_id>/publish", methods=["POST"])
@role_required(Role.STAFF)
@back_on_refusal(_form_url)
def publish(form_id: int):
    """Publish: each part opens after its module's last session (or when opened by hand)."""
    return _form_action(form_id, authoring.publish, _("The form is published."))


@bp.route("/staff/evaluations/<int:form_id>/close", methods=["POST"])
@role_required(Role.STAFF)
@back_on_refusal(_form_url)
def close(form_id: int):
    """Close: no more answers; trainers may now see their modules' results."""
    return _form_action(form_id, authoring.close, _("The form is closed."))


@bp.route("/staff/evaluations/<int:form_id>/copy", methods=["POST"])
@role_required(Role.STAFF)
@back_on_refusal(_form_url)
def copy(form_id: int):
    """Copy a form into a new draft (to change a form that has answers)."""
    return _form_action(form_id, authoring.copy_form, _("This is the copy: a new draft."))


@bp.route("/staff/evaluation-parts/<int:part_id>/open", methods=["POST"])
@role_required(Role.STAFF)
@back_on_refusal(_form_url_of_part)
def open_part(part_id: int):
    """Open one part now, before its schedule."""
    part = db.get_or_404(EvaluationPart, part_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    authoring.open_part_now(part)
    flash(_("“%(p)s” is open.", p=answering.part_label(part)), "success")
    return _back_to_form(part.form)


# --- results -----------------------------------------------------------------------------------


@bp.route("/staff/evaluations/<int:form_id>/results")
@role_required(Role.STAFF)
def results(form_id: int):
    """Every part's results, modules side by side."""
    evaluation = authoring.form_with_parts(form_id) or abort(404)
    part_results = reporting.form_results(evaluation)
    headers, rows = reporting.module_comparison(part_results)
    return render_template(
        "evaluations/results.html",
        evaluation=evaluation,
        edition=evaluation.edition,
        results=part_results,
        comparison_headers=headers,
        comparison_rows=rows,
        charts=charts,
    )


@bp.route("/staff/evaluations/<int:form_id>/results.xlsx")
@role_required(Role.STAFF)
def results_xlsx(form_id: int):
    """The results as a workbook, one sheet per part."""
    evaluation = authoring.form_with_parts(form_id) or abort(404)
    response = make_response(reporting.results_xlsx(evaluation))
    response.mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="evaluation-{evaluation.edition.slug}-{evaluation.id}.xlsx"'
    )
    return response


@bp.route("/evaluations/parts/<int:part_id>/results")
@role_required(Role.TRAINER, Role.STAFF)
def part_results(part_id: int):
    """One part's results: staff always, the module's trainers once closed with 5+ answers."""
    part = db.get_or_404(EvaluationPart, part_id)
    responses = reporting.response_count(part)
    if not reporting.may_see_part_results(current_user, part, responses):
        return (
            render_template(
                "evaluations/not_yet.html",
                part=part,
                label=answering.part_label(part),
                min_group=reporting.MIN_GROUP_SIZE,
            ),
            403,
        )
    return render_template(
        "evaluations/part_results.html",
        part=part,
        evaluation=part.form,
        edition=part.form.edition,
        result=reporting.form_results(part.form, [part])[0],
        charts=charts,
    )


# --- participants -----------------------------------------------------------------------------


@bp.route("/evaluations/<int:part_id>", methods=["GET", "POST"])
@role_required(Role.PARTICIPANT)
@back_on_refusal(_dashboard_url)
def answer(part_id: int):
    """Answer one part of an evaluation, once."""
    part = db.get_or_404(EvaluationPart, part_id)
    try:
        registration = answering.answerable(current_user, part)
    except EvaluationError as error:
        return (
            render_template(
                "evaluations/unavailable.html",
                message=error.message,
                code=error.code,
                label=answering.part_label(part),
            ),
            error.status_code,
        )
    questions = answering.questions_for(part)
    form = AnswerForm()
    errors: dict[int, str] = {}
    given: dict[int, list[str]] = {}
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        given = {q.id: request.form.getlist(f"q{q.id}")[:50] for q in questions}
        values, errors = answering.clean_answers(questions, given)
        if not errors:
            answering.submit(part, registration, values, today())
            flash(_("Thank you: your answers are saved."), "success")
            return redirect(url_for("registration.dashboard"), 303)
        status = 400
    return (
        render_template(
            "evaluations/answer.html",
            part=part,
            evaluation=part.form,
            edition=part.form.edition,
            label=answering.part_label(part),
            questions=questions,
            form=form,
            errors=errors,
            given=given,
        ),
        status,
    )
