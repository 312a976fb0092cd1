"""Evaluation forms: from a template, edited while unanswered, published, closed, copied."""

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload

from schoolmgr.evaluations.errors import EvaluationError
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    Edition,
    EditionFormat,
    EditionModule,
    EvaluationForm,
    EvaluationPart,
    EvaluationQuestion,
    EvaluationResponse,
    FormKind,
    QuestionKind,
    QuestionScope,
    utcnow,
)

MAX_CHOICES = 20


def evaluation_template(edition: Edition) -> list[dict]:
    """The questions of a new evaluation form (staff edit them before publishing)."""
    venue = (
        _("The online platform")
        if edition.format == EditionFormat.ONLINE
        else _("The venue and the online platform")
        if edition.format == EditionFormat.HYBRID
        else _("The venue")
    )
    rating, text = QuestionKind.RATING, QuestionKind.LONG_TEXT
    module, whole = QuestionScope.MODULE, QuestionScope.EDITION
    return [
        {"scope": module, "kind": rating, "text": _("The content of the module")},
        {"scope": module, "kind": rating, "text": _("Its relevance to my job")},
        {"scope": module, "kind": rating, "text": _("The trainer")},
        {"scope": module, "kind": rating, "text": _("The materials")},
        {"scope": whole, "kind": rating, "text": _("The organisation")},
        {"scope": whole, "kind": rating, "text": venue},
        {"scope": whole, "kind": rating, "text": _("The edition overall")},
        {"scope": whole, "kind": text, "text": _("What was most useful?"), "required": False},
        {"scope": whole, "kind": text, "text": _("What should we improve?"), "required": False},
        {
            "scope": whole,
            "kind": QuestionKind.SCALE,
            "text": _("How likely are you to recommend this school to a colleague?"),
            "help": _("0: not at all likely, 10: extremely likely."),
        },
    ]


def follow_up_template(edition: Edition) -> list[dict]:
    """The short form sent months after the edition: did it change anything at work?"""
    whole = QuestionScope.EDITION
    return [
        {
            "scope": whole,
            "kind": QuestionKind.SINGLE,
            "text": _("Have you applied what you learned?"),
            "choices": [_("Yes, regularly"), _("Yes, once or twice"), _("Not yet"), _("No")],
        },
        {
            "scope": whole,
            "kind": QuestionKind.LONG_TEXT,
            "text": _("Give one example"),
            "required": False,
        },
        {
            "scope": whole,
            "kind": QuestionKind.MULTIPLE,
            "text": _("Which modules were most useful now?"),
            "choices": [em.module.name[:200] for em in edition.edition_modules][:MAX_CHOICES],
            "required": False,
        },
    ]


def form_with_parts(form_id: int) -> EvaluationForm | None:
    """A form with its edition, questions and parts (and their modules) loaded up front."""
    return db.session.scalar(
        sa.select(EvaluationForm)
        .where(EvaluationForm.id == form_id)
        .options(
            joinedload(EvaluationForm.edition),
            selectinload(EvaluationForm.questions),
            selectinload(EvaluationForm.parts)
            .joinedload(EvaluationPart.edition_module)
            .joinedload(EditionModule.module),
        )
    )


def forms_of(edition: Edition) -> list[EvaluationForm]:
    return list(
        db.session.scalars(
            sa.select(EvaluationForm)
            .where(EvaluationForm.edition_id == edition.id)
            .order_by(EvaluationForm.kind, EvaluationForm.id)
        )
    )


def create_form(edition: Edition, kind: FormKind, follow_up_months: int | None = None):
    """A new draft form for `edition`, filled from the built-in template of its kind."""
    if kind == FormKind.FOLLOW_UP:
        if follow_up_months not in (3, 6):
            raise EvaluationError(_("Choose 3 or 6 months."), "bad_months")
        title = _("Follow-up: %(t)s", t=edition.title)
        questions = follow_up_template(edition)
    else:
        follow_up_months = None
        title = _("Evaluation: %(t)s", t=edition.title)
        questions = evaluation_template(edition)
    form = EvaluationForm(
        edition=edition,
        kind=kind,
        title=title[:200],
        follow_up_months=follow_up_months,
        reminder_days=current_app.config["EVALUATION_REMINDER_DAYS"],
    )
    db.session.add(form)
    for position, spec in enumerate(questions):
        form.questions.append(EvaluationQuestion(position=position, **_question_values(**spec)))
    _sync_parts(form)
    db.session.commit()
    return form


def _question_values(scope, kind, text, help="", required=True, choices=None) -> dict:
    return {
        "scope": scope,
        "kind": kind,
        "text": str(text),
        "help": str(help),
        "required": required,
        "choices": [str(c) for c in choices or []],
    }


def _sync_parts(form: EvaluationForm) -> None:
    """One part per module of the edition (evaluations only) and one for the whole edition."""
    have = {part.edition_module_id for part in form.parts}
    wanted: list[int | None] = []
    if form.kind == FormKind.EVALUATION:
        wanted += [em.id for em in form.edition.edition_modules]
    wanted.append(None)
    for position, em_id in enumerate(wanted):
        if em_id not in have:
            form.parts.append(EvaluationPart(edition_module_id=em_id, position=position))


def has_answers(form: EvaluationForm) -> bool:
    return bool(
        db.session.scalar(
            sa.select(sa.literal(True))
            .select_from(EvaluationResponse)
            .join(EvaluationPart, EvaluationPart.id == EvaluationResponse.part_id)
            .where(EvaluationPart.form_id == form.id)
            .limit(1)
        )
    )


def _editable(form: EvaluationForm) -> None:
    """A form changes only until the first answer came in (copy it to change it)."""
    if form.is_closed:
        raise EvaluationError(_("This form is closed."), "closed", 409)
    if has_answers(form):
        raise EvaluationError(
            _("Answers have come in, so this form can no longer change. Copy it to change it."),
            "locked",
            409,
        )


def update_settings(
    form: EvaluationForm, *, title: str, intro: str, named: bool, reminder_days: int
) -> None:
    _editable(form)
    form.title, form.intro, form.named, form.reminder_days = title, intro, named, reminder_days
    db.session.commit()


def _clean_choices(kind: QuestionKind, choices: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(c.strip()[:200] for c in choices if c.strip()))
    if not kind.has_choices:
        return []
    if len(cleaned) < 2:
        raise EvaluationError(_("A choice question needs at least two options."), "few_choices")
    if len(cleaned) > MAX_CHOICES:
        raise EvaluationError(_("At most %(n)d options.", n=MAX_CHOICES), "many_choices")
    return cleaned


def add_question(
    form: EvaluationForm,
    *,
    scope: QuestionScope,
    kind: QuestionKind,
    text: str,
    help: str = "",
    required: bool = True,
    choices: list[str] | None = None,
) -> EvaluationQuestion:
    _editable(form)
    if form.kind == FormKind.FOLLOW_UP and scope == QuestionScope.MODULE:
        raise EvaluationError(_("A follow-up survey has no module questions."), "bad_scope")
    last = db.session.scalar(
        sa.select(sa.func.max(EvaluationQuestion.position)).where(
            EvaluationQuestion.form_id == form.id, EvaluationQuestion.scope == scope
        )
    )
    question = EvaluationQuestion(
        form=form,
        scope=scope,
        kind=kind,
        text=text,
        help=help,
        required=required,
        choices=_clean_choices(kind, choices or []),
        position=(last if last is not None else -1) + 1,
    )
    db.session.add(question)
    db.session.commit()
    return question


def update_question(
    question: EvaluationQuestion,
    *,
    kind: QuestionKind,
    text: str,
    help: str,
    required: bool,
    choices: list[str],
) -> None:
    _editable(question.form)
    question.choices = _clean_choices(kind, choices)
    question.kind, question.text, question.help, question.required = kind, text, help, required
    db.session.commit()


def delete_question(question: EvaluationQuestion) -> None:
    _editable(question.form)
    db.session.delete(question)
    db.session.commit()


def move_question(question: EvaluationQuestion, direction: str) -> None:
    """Swap a question with its neighbour above ("up") or below ("down") in the same scope."""
    _editable(question.form)
    siblings = [q for q in question.form.questions if q.scope == question.scope]
    index = siblings.index(question)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(siblings):
        return
    siblings[index], siblings[other] = siblings[other], siblings[index]
    for position, item in enumerate(siblings):
        item.position = position
    db.session.commit()


def publish(form: EvaluationForm, now: datetime | None = None) -> None:
    """Make the form answerable: each part opens on its schedule (or when opened by hand)."""
    if form.is_published:
        return
    if not form.questions:
        raise EvaluationError(_("Add at least one question first."), "no_questions")
    other = db.session.scalar(
        sa.select(EvaluationForm.id).where(
            EvaluationForm.edition_id == form.edition_id,
            EvaluationForm.kind == form.kind,
            EvaluationForm.id != form.id,
            EvaluationForm.is_open,
        )
    )
    if other:
        raise EvaluationError(
            _("Another form of this kind is open for this edition: close it first."),
            "other_open",
            409,
        )
    _sync_parts(form)
    form.published_at = now or utcnow()
    db.session.commit()


def close(form: EvaluationForm, now: datetime | None = None) -> None:
    if not form.is_published:
        raise EvaluationError(_("Only a published form can be closed."), "not_published", 409)
    if form.closed_at is None:
        form.closed_at = now or utcnow()
        db.session.commit()


def copy_form(form: EvaluationForm) -> EvaluationForm:
    """A new draft with the same questions, to change a form that already has answers."""
    copy = EvaluationForm(
        edition=form.edition,
        kind=form.kind,
        title=_("Copy of %(t)s", t=form.title)[:200],
        intro=form.intro,
        named=form.named,
        follow_up_months=form.follow_up_months,
        reminder_days=form.reminder_days,
        copied_from_id=form.id,
    )
    db.session.add(copy)
    for q in form.questions:
        copy.questions.append(
            EvaluationQuestion(
                scope=q.scope,
                position=q.position,
                kind=q.kind,
                text=q.text,
                help=q.help,
                required=q.required,
                choices=list(q.choices),
            )
        )
    _sync_parts(copy)
    db.session.commit()
    return copy


def open_part_now(part: EvaluationPart, now: datetime | None = None) -> None:
    """Open a part by hand, before its schedule."""
    if not part.form.is_open:
        raise EvaluationError(
            _("Publish the form first (and it must not be closed)."), "not_published", 409
        )
    if part.opened_at is None:
        part.opened_at = now or utcnow()
        db.session.commit()
