"""Evaluation and follow-up surveys: forms from a template, opening, answering once, results.

Anonymity: an answer (EvaluationResponse + EvaluationAnswer) is stored without any link to the
person (see schoolmgr/models/evaluation.py); the separate EvaluationSubmission only records that
a registration has answered a part. Nothing in this module joins the two.
"""

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from schoolmgr.errors import DomainError
from schoolmgr.extensions import db
from schoolmgr.mail import queue_email
from schoolmgr.models import (
    Attendance,
    AttendanceStatus,
    Edition,
    EditionFormat,
    EditionModule,
    EvaluationAnswer,
    EvaluationForm,
    EvaluationInvitation,
    EvaluationPart,
    EvaluationQuestion,
    EvaluationResponse,
    EvaluationResponseAuthor,
    EvaluationSubmission,
    FormKind,
    Module,
    QuestionKind,
    QuestionScope,
    Registration,
    RegistrationStatus,
    Session,
    User,
    edition_module_trainers,
    utcnow,
)
from schoolmgr.models.evaluation import random_response_id
from schoolmgr.timeutils import to_utc
from schoolmgr.urls import site_url

# Fewer answers than this could identify who wrote what: trainers see no results below it.
MIN_GROUP_SIZE = 5
ATTENDED = (AttendanceStatus.PRESENT, AttendanceStatus.LATE)
MAX_CHOICES = 20


class EvaluationError(DomainError):
    pass


# --- the built-in templates -------------------------------------------------------------------


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


# --- forms: create, edit while nobody has answered, publish, close, copy -----------------------


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
            EvaluationForm.published_at.is_not(None),
            EvaluationForm.closed_at.is_(None),
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
    if not part.form.is_published or part.form.is_closed:
        raise EvaluationError(
            _("Publish the form first (and it must not be closed)."), "not_published", 409
        )
    if part.opened_at is None:
        part.opened_at = now or utcnow()
        db.session.commit()


# --- when parts open, who may answer them ----------------------------------------------------


def scheduled_openings(form: EvaluationForm) -> dict[int, datetime | None]:
    """part id -> when it opens by the schedule (None: no session yet), in one query."""
    return scheduled_openings_of([form])


def scheduled_openings_of(forms: list[EvaluationForm]) -> dict[int, datetime | None]:
    """scheduled_openings for several forms, in at most one query."""
    openings: dict[int, datetime | None] = {}
    evaluations = [f for f in forms if f.kind == FormKind.EVALUATION]
    last_ends: dict[int, datetime] = {}
    edition_ends: dict[int, datetime] = {}
    if evaluations:
        for em_id, edition_id, ends_at in db.session.execute(
            sa.select(
                Session.edition_module_id, EditionModule.edition_id, sa.func.max(Session.ends_at)
            )
            .join(EditionModule, EditionModule.id == Session.edition_module_id)
            .where(EditionModule.edition_id.in_({f.edition_id for f in evaluations}))
            .group_by(Session.edition_module_id, EditionModule.edition_id)
        ):
            last_ends[em_id] = ends_at
            edition_ends[edition_id] = max(ends_at, edition_ends.get(edition_id, ends_at))
    for form in forms:
        if form.kind == FormKind.FOLLOW_UP:
            edition = form.edition
            day = _add_months(edition.end_date, form.follow_up_months or 3)
            at = to_utc(day, time(0, 0), edition.timezone)
            openings.update({part.id: at for part in form.parts})
            continue
        for part in form.parts:
            openings[part.id] = (
                last_ends.get(part.edition_module_id)
                if part.edition_module_id
                else edition_ends.get(form.edition_id)
            )
    return openings


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def part_is_open(part: EvaluationPart, openings: dict[int, datetime | None], now: datetime) -> bool:
    form = part.form
    if not form.is_published or form.is_closed:
        return False
    if part.opened_at is not None:
        return True
    opens_at = openings.get(part.id)
    return opens_at is not None and now >= opens_at


def _eligible_registrations(part: EvaluationPart) -> sa.Select:
    """Accepted registrations of the edition that attended the module (or any session)."""
    attended = (
        sa.select(sa.literal(1))
        .select_from(Attendance)
        .join(Session, Session.id == Attendance.session_id)
        .where(
            Attendance.registration_id == Registration.id,
            Attendance.status.in_(ATTENDED),
        )
    )
    if part.edition_module_id is not None:
        attended = attended.where(Session.edition_module_id == part.edition_module_id)
    else:
        attended = attended.join(
            EditionModule, EditionModule.id == Session.edition_module_id
        ).where(EditionModule.edition_id == part.form.edition_id)
    return sa.select(Registration.id).where(
        Registration.edition_id == part.form.edition_id,
        Registration.status == RegistrationStatus.ACCEPTED,
        attended.exists(),
    )


def eligible_counts(parts: list[EvaluationPart]) -> dict[int, int]:
    """part id -> how many may answer it (accepted and attended), in at most two queries."""
    counts: dict[int, int] = {}
    module_parts = [p for p in parts if p.edition_module_id is not None]
    if module_parts:
        per_module = dict(
            db.session.execute(
                sa.select(Session.edition_module_id, sa.func.count(sa.distinct(Registration.id)))
                .select_from(Attendance)
                .join(Session, Session.id == Attendance.session_id)
                .join(Registration, Registration.id == Attendance.registration_id)
                .where(
                    Session.edition_module_id.in_({p.edition_module_id for p in module_parts}),
                    Attendance.status.in_(ATTENDED),
                    Registration.status == RegistrationStatus.ACCEPTED,
                )
                .group_by(Session.edition_module_id)
            ).all()
        )
        counts.update({p.id: per_module.get(p.edition_module_id, 0) for p in module_parts})
    edition_parts = [p for p in parts if p.edition_module_id is None]
    if edition_parts:
        edition_ids = {p.form.edition_id for p in edition_parts}
        per_edition = dict(
            db.session.execute(
                sa.select(Registration.edition_id, sa.func.count(sa.distinct(Registration.id)))
                .select_from(Attendance)
                .join(Registration, Registration.id == Attendance.registration_id)
                .where(
                    Registration.edition_id.in_(edition_ids),
                    Attendance.status.in_(ATTENDED),
                    Registration.status == RegistrationStatus.ACCEPTED,
                )
                .group_by(Registration.edition_id)
            ).all()
        )
        counts.update({p.id: per_edition.get(p.form.edition_id, 0) for p in edition_parts})
    return counts


@dataclass
class WaitingPart:
    part: EvaluationPart
    registration_id: int

    @property
    def label(self) -> str:
        return part_label(self.part)


def part_label(part: EvaluationPart) -> str:
    if part.edition_module is not None:
        return part.edition_module.module.name
    if part.form.kind == FormKind.FOLLOW_UP:
        return _("Follow-up survey")
    return _("The edition as a whole")


def waiting_parts(user: User, now: datetime | None = None) -> list[WaitingPart]:
    """Open parts `user` may answer and has not answered yet (for the dashboard)."""
    if not user.is_authenticated:
        return []
    now = now or utcnow()
    registrations = dict(
        db.session.execute(
            sa.select(Registration.edition_id, Registration.id).where(
                Registration.user_id == user.id,
                Registration.status == RegistrationStatus.ACCEPTED,
            )
        ).all()
    )
    if not registrations:
        return []
    forms = db.session.scalars(
        sa.select(EvaluationForm)
        .where(
            EvaluationForm.edition_id.in_(registrations),
            EvaluationForm.published_at.is_not(None),
            EvaluationForm.closed_at.is_(None),
        )
        .options(
            joinedload(EvaluationForm.edition),
            selectinload(EvaluationForm.parts)
            .joinedload(EvaluationPart.edition_module)
            .joinedload(EditionModule.module),
        )
        .order_by(EvaluationForm.id)
    ).all()
    openings = scheduled_openings_of(forms)
    registration_ids = list(registrations.values())
    # Where the user attended: (edition, module) pairs, in one query.
    attended = set(
        db.session.execute(
            sa.select(Registration.edition_id, Session.edition_module_id)
            .select_from(Attendance)
            .join(Session, Session.id == Attendance.session_id)
            .join(Registration, Registration.id == Attendance.registration_id)
            .where(
                Attendance.registration_id.in_(registration_ids),
                Attendance.status.in_(ATTENDED),
            )
            .distinct()
        ).all()
    )
    attended_editions = {edition_id for edition_id, _ in attended}
    answered = set(
        db.session.scalars(
            sa.select(EvaluationSubmission.part_id).where(
                EvaluationSubmission.registration_id.in_(registration_ids)
            )
        )
    )
    waiting = []
    for form in forms:
        for part in form.parts:
            if part.id in answered or not part_is_open(part, openings, now):
                continue
            if part.edition_module_id is None:
                eligible = form.edition_id in attended_editions
            else:
                eligible = (form.edition_id, part.edition_module_id) in attended
            if eligible:
                waiting.append(WaitingPart(part, registrations[form.edition_id]))
    return waiting


def _may_answer(part: EvaluationPart, registration_id: int) -> bool:
    return bool(
        db.session.scalar(_eligible_registrations(part).where(Registration.id == registration_id))
    )


def _has_answered(part: EvaluationPart, registration_id: int) -> bool:
    return (
        db.session.get(
            EvaluationSubmission, {"part_id": part.id, "registration_id": registration_id}
        )
        is not None
    )


def answerable(user: User, part: EvaluationPart, now: datetime | None = None) -> Registration:
    """The user's registration that may answer `part` now, or an EvaluationError saying why not."""
    now = now or utcnow()
    registration = db.session.scalar(
        sa.select(Registration).where(
            Registration.user_id == user.id,
            Registration.edition_id == part.form.edition_id,
            Registration.status == RegistrationStatus.ACCEPTED,
        )
    )
    if registration is None or not _may_answer(part, registration.id):
        raise EvaluationError(_("This evaluation is not for you."), "not_eligible", 403)
    if not part_is_open(part, scheduled_openings(part.form), now):
        raise EvaluationError(_("This evaluation is not open."), "not_open", 409)
    if _has_answered(part, registration.id):
        raise EvaluationError(_("You have already answered. Thank you!"), "already_answered", 409)
    return registration


# --- answering --------------------------------------------------------------------------------


def questions_for(part: EvaluationPart) -> list[EvaluationQuestion]:
    return [q for q in part.form.questions if q.scope == part.scope]


def clean_answers(
    questions: list[EvaluationQuestion], raw: dict[int, list[str]]
) -> tuple[dict[int, object], dict[int, str]]:
    """Check raw form values against the questions: (values by question id, errors by id)."""
    values: dict[int, object] = {}
    errors: dict[int, str] = {}
    for q in questions:
        given = [v.strip() for v in raw.get(q.id, []) if v and v.strip()]
        if not given:
            if q.required:
                errors[q.id] = _("Please answer this question.")
            continue
        if q.kind.is_text:
            limit = 300 if q.kind == QuestionKind.SHORT_TEXT else 5000
            text = given[0]
            if len(text) > limit:
                errors[q.id] = _("At most %(n)d characters.", n=limit)
            elif any(ord(c) < 32 and c not in "\n\r\t" or ord(c) == 127 for c in text):
                errors[q.id] = _("This answer contains characters that are not allowed.")
            else:
                values[q.id] = text
            continue
        allowed = set(q.kind.scale) if q.kind.is_numeric else set(range(len(q.choices)))
        numbers = [int(v) for v in given if v.isascii() and v.isdigit() and len(v) < 4]
        if len(numbers) != len(given) or any(n not in allowed for n in numbers):
            errors[q.id] = _("Choose one of the options.")
        elif q.kind != QuestionKind.MULTIPLE and len(numbers) != 1:
            errors[q.id] = _("Choose only one option.")
        else:
            values[q.id] = sorted(set(numbers)) if q.kind == QuestionKind.MULTIPLE else numbers[0]
    return values, errors


def submit(
    part: EvaluationPart, registration: Registration, values: dict[int, object], today: date
) -> None:
    """Store one answer to `part`; a second answer (even posted at the same moment) is refused.

    The submission record is written first: its primary key (part, registration) lets only one
    transaction through. The answer rows get a random key and only the day, so they cannot be
    matched with it.
    """
    db.session.add(EvaluationSubmission(part_id=part.id, registration_id=registration.id))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise EvaluationError(
            _("You have already answered. Thank you!"), "already_answered", 409
        ) from None
    response = EvaluationResponse(id=random_response_id(), part_id=part.id, submitted_on=today)
    db.session.add(response)
    for question_id, value in values.items():
        if isinstance(value, list):
            for item, number in enumerate(value):
                response.answers.append(
                    EvaluationAnswer(question_id=question_id, item=item, number=number)
                )
        elif isinstance(value, int):
            response.answers.append(EvaluationAnswer(question_id=question_id, number=value))
        else:
            response.answers.append(EvaluationAnswer(question_id=question_id, text=value))
    if part.form.named:
        db.session.add(
            EvaluationResponseAuthor(response_id=response.id, registration_id=registration.id)
        )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise EvaluationError(
            _("You have already answered. Thank you!"), "already_answered", 409
        ) from None


# --- results ----------------------------------------------------------------------------------


@dataclass
class QuestionResult:
    question: EvaluationQuestion
    counts: list[tuple[str, int]] = field(default_factory=list)  # (label, n) in scale order
    answered: int = 0
    mean: float | None = None
    median: float | None = None
    texts: list[str] = field(default_factory=list)


@dataclass
class PartResult:
    part: EvaluationPart
    label: str
    responses: int
    eligible: int
    questions: list[QuestionResult]

    @property
    def rate(self) -> float | None:
        return round(100 * self.responses / self.eligible, 1) if self.eligible else None


def form_results(
    form: EvaluationForm, parts: list[EvaluationPart] | None = None
) -> list[PartResult]:
    """Results of each part of `form` (or of `parts` only), read in a fixed number of queries."""
    parts = parts if parts is not None else list(form.parts)
    part_ids = [p.id for p in parts]
    if not part_ids:
        return []
    responses = dict(
        db.session.execute(
            sa.select(EvaluationResponse.part_id, sa.func.count())
            .where(EvaluationResponse.part_id.in_(part_ids))
            .group_by(EvaluationResponse.part_id)
        ).all()
    )
    numeric: dict[tuple[int, int], dict[int, int]] = defaultdict(dict)
    for part_id, question_id, number, n in db.session.execute(
        sa.select(
            EvaluationResponse.part_id,
            EvaluationAnswer.question_id,
            EvaluationAnswer.number,
            sa.func.count(),
        )
        .join(EvaluationResponse, EvaluationResponse.id == EvaluationAnswer.response_id)
        .where(EvaluationResponse.part_id.in_(part_ids), EvaluationAnswer.number.is_not(None))
        .group_by(EvaluationResponse.part_id, EvaluationAnswer.question_id, EvaluationAnswer.number)
    ):
        numeric[(part_id, question_id)][number] = n
    answered = {
        (p, q): n
        for p, q, n in db.session.execute(
            sa.select(
                EvaluationResponse.part_id,
                EvaluationAnswer.question_id,
                sa.func.count(sa.distinct(EvaluationAnswer.response_id)),
            )
            .join(EvaluationResponse, EvaluationResponse.id == EvaluationAnswer.response_id)
            .where(EvaluationResponse.part_id.in_(part_ids))
            .group_by(EvaluationResponse.part_id, EvaluationAnswer.question_id)
        )
    }
    texts: dict[tuple[int, int], list[str]] = defaultdict(list)
    # Ordered by the text itself: never in the order the answers came in.
    text_query = (
        sa.select(EvaluationResponse.part_id, EvaluationAnswer.question_id, EvaluationAnswer.text)
        .join(EvaluationResponse, EvaluationResponse.id == EvaluationAnswer.response_id)
        .where(EvaluationResponse.part_id.in_(part_ids), EvaluationAnswer.text != "")
        .order_by(EvaluationAnswer.text)
    )
    if form.named:  # participants were told: the author's name goes with the text
        text_query = (
            text_query.add_columns(User.full_name)
            .outerjoin(
                EvaluationResponseAuthor,
                EvaluationResponseAuthor.response_id == EvaluationResponse.id,
            )
            .outerjoin(Registration, Registration.id == EvaluationResponseAuthor.registration_id)
            .outerjoin(User, User.id == Registration.user_id)
        )
    for part_id, question_id, text, *author in db.session.execute(text_query):
        texts[(part_id, question_id)].append(
            f"{text} ({author[0]})" if author and author[0] else text
        )
    eligible = eligible_counts(parts)
    results = []
    for part in parts:
        question_results = []
        for q in questions_for(part):
            key = (part.id, q.id)
            result = QuestionResult(q, answered=answered.get(key, 0), texts=texts.get(key, []))
            dist = numeric.get(key, {})
            if q.kind.is_numeric:
                result.counts = [(str(v), dist.get(v, 0)) for v in q.kind.scale]
                result.mean, result.median = _mean_median(dist)
            elif q.kind.has_choices:
                result.counts = [(c, dist.get(i, 0)) for i, c in enumerate(q.choices)]
            question_results.append(result)
        results.append(
            PartResult(
                part=part,
                label=part_label(part),
                responses=responses.get(part.id, 0),
                eligible=eligible.get(part.id, 0),
                questions=question_results,
            )
        )
    return results


def _mean_median(dist: dict[int, int]) -> tuple[float | None, float | None]:
    """Mean and median from a distribution {value: count}, without expanding it per answer."""
    total = sum(dist.values())
    if not total:
        return None, None
    mean = sum(v * n for v, n in dist.items()) / total
    ordered = sorted(dist.items())

    def nth(k: int) -> int:  # the k-th smallest value, 0-based
        seen = 0
        for value, n in ordered:
            seen += n
            if k < seen:
                return value
        raise AssertionError("unreachable")

    median = nth(total // 2) if total % 2 else (nth(total // 2 - 1) + nth(total // 2)) / 2
    return round(mean, 2), float(median)


def module_comparison(results: list[PartResult]) -> tuple[list[str], list[tuple[str, int, list]]]:
    """Modules side by side: headers (the module questions) and per module (name, n, means)."""
    module_results = [r for r in results if r.part.edition_module_id is not None]
    headers = [
        qr.question.text
        for qr in (module_results[0].questions if module_results else [])
        if qr.question.kind.is_numeric
    ]
    rows = [
        (r.label, r.responses, [qr.mean for qr in r.questions if qr.question.kind.is_numeric])
        for r in module_results
    ]
    return headers, rows


def may_see_part_results(user: User, part: EvaluationPart, responses: int) -> bool:
    """Staff always; a module's trainer once the form is closed and enough people answered."""
    if user.is_staff:
        return True
    if not user.is_trainer or part.edition_module_id is None:
        return False
    if not part.form.is_closed or responses < MIN_GROUP_SIZE:
        return False
    return bool(
        db.session.scalar(
            sa.select(sa.literal(True)).where(
                edition_module_trainers.c.edition_module_id == part.edition_module_id,
                edition_module_trainers.c.user_id == user.id,
            )
        )
    )


def response_count(part: EvaluationPart) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(EvaluationResponse.part_id == part.id)
    )


def results_xlsx(form: EvaluationForm) -> bytes:
    """The results as a workbook, one sheet per part: figures per question, then free text."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    from schoolmgr.exports import spreadsheet_safe

    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for result in form_results(form):
        sheet = workbook.create_sheet(_sheet_title(result.label, used))
        bold = Font(bold=True)
        sheet.append([spreadsheet_safe(form.title)])
        sheet.append([spreadsheet_safe(result.label)])
        sheet["A1"].font = sheet["A2"].font = bold
        sheet.append([_("Responses"), result.responses])
        sheet.append([_("Invited (attended)"), result.eligible])
        sheet.append([_("Response rate (%)"), result.rate])
        sheet.append([])
        sheet.append([_("Question"), _("Kind"), _("Answers"), _("Mean"), _("Median")])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for qr in result.questions:
            row = [spreadsheet_safe(qr.question.text), qr.question.kind.label, qr.answered]
            row += [qr.mean, qr.median]
            row += [spreadsheet_safe(f"{label}: {n}") for label, n in qr.counts]
            sheet.append(row)
        for qr in result.questions:
            if not qr.texts:
                continue
            sheet.append([])
            sheet.append([spreadsheet_safe(qr.question.text)])
            sheet[sheet.max_row][0].font = bold
            for text in qr.texts:
                sheet.append([spreadsheet_safe(text)])
        sheet.column_dimensions["A"].width = 60
    if not workbook.sheetnames:
        workbook.create_sheet(_("Results"))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_title(label: str, used: set[str]) -> str:
    base = "".join(c for c in label if c not in "[]:*?/\\")[:28] or "Part"
    title, n = base, 2
    while title.lower() in used:
        title, n = f"{base[:25]} {n}", n + 1
    used.add(title.lower())
    return title


# --- invitations and reminders (`flask evaluations send`) --------------------------------------


@dataclass
class SendResult:
    invited: int = 0
    reminded: int = 0
    emails: int = 0


def send_due(now: datetime | None = None) -> SendResult:
    """Invite once to every open part, remind once after the form's reminder days; idempotent.

    The invitation rows (primary key: part and registration) are written in the same
    transaction as the email they record, so a second run finds them and sends nothing again.
    """
    now = now or utcnow()
    result = SendResult()
    forms = db.session.scalars(
        sa.select(EvaluationForm)
        .where(EvaluationForm.published_at.is_not(None), EvaluationForm.closed_at.is_(None))
        .options(
            joinedload(EvaluationForm.edition),
            selectinload(EvaluationForm.parts)
            .joinedload(EvaluationPart.edition_module)
            .joinedload(EditionModule.module),
        )
        .order_by(EvaluationForm.id)
    ).all()
    for form in forms:
        openings = scheduled_openings(form)
        new: dict[int, list[EvaluationPart]] = defaultdict(list)
        remind: dict[int, list[EvaluationPart]] = defaultdict(list)
        for part in form.parts:
            if not part_is_open(part, openings, now):
                continue
            answered = sa.select(EvaluationSubmission.registration_id).where(
                EvaluationSubmission.part_id == part.id
            )
            invited = sa.select(EvaluationInvitation.registration_id).where(
                EvaluationInvitation.part_id == part.id
            )
            for registration_id in db.session.scalars(
                _eligible_registrations(part).where(
                    Registration.id.not_in(answered), Registration.id.not_in(invited)
                )
            ):
                new[registration_id].append(part)
            for invitation in db.session.scalars(
                sa.select(EvaluationInvitation).where(
                    EvaluationInvitation.part_id == part.id,
                    EvaluationInvitation.reminded_at.is_(None),
                    EvaluationInvitation.invited_at <= now - timedelta(days=form.reminder_days),
                    EvaluationInvitation.registration_id.not_in(answered),
                )
            ):
                invitation.reminded_at = now
                remind[invitation.registration_id].append(part)
        for registration_id, parts in new.items():
            for part in parts:
                db.session.add(
                    EvaluationInvitation(
                        part_id=part.id, registration_id=registration_id, invited_at=now
                    )
                )
            _email(form, registration_id, parts, reminder=False)
            result.invited += len(parts)
            result.emails += 1
        for registration_id, parts in remind.items():
            _email(form, registration_id, parts, reminder=True)
            result.reminded += len(parts)
            result.emails += 1
        try:
            db.session.commit()
        except IntegrityError:  # another run got there first: it sends these, not us
            db.session.rollback()
    return result


def _email(form: EvaluationForm, registration_id: int, parts: list, reminder: bool) -> None:
    registration = db.session.get(Registration, registration_id)
    user = registration.user
    if not user.active or user.anonymised_at is not None:
        return  # a deleted account: recorded as invited, never written to
    links = [(part_label(part), site_url("evaluations.answer", part_id=part.id)) for part in parts]
    subject = (
        _l("Reminder: your evaluation of %(t)s is waiting", t=form.edition.title)
        if reminder
        else _l("Your evaluation of %(t)s is waiting", t=form.edition.title)
    )
    queue_email(
        user,
        "evaluation_invitation",
        subject,
        user=user,
        form=form,
        links=links,
        reminder=reminder,
    )


# --- figures for the Reports area -------------------------------------------------------------


@dataclass(frozen=True)
class ModuleScore:
    module_id: int
    module_name: str
    year: int
    mean: float
    answers: int


def module_score_trends(
    years: list[int] | None = None, kinds: list[str] | None = None
) -> list[ModuleScore]:
    """Per catalogue module and year: the mean of the module parts' 1–5 ratings, and how many.

    One GROUP BY query over the answers; `years` and `kinds` (edition kinds) filter when given.
    """
    year = sa.extract("year", Edition.start_date)
    query = (
        sa.select(
            Module.id,
            Module.name,
            year.label("year"),
            sa.func.avg(EvaluationAnswer.number),
            sa.func.count(),
        )
        .select_from(EvaluationAnswer)
        .join(EvaluationQuestion, EvaluationQuestion.id == EvaluationAnswer.question_id)
        .join(EvaluationResponse, EvaluationResponse.id == EvaluationAnswer.response_id)
        .join(EvaluationPart, EvaluationPart.id == EvaluationResponse.part_id)
        .join(EvaluationForm, EvaluationForm.id == EvaluationPart.form_id)
        .join(EditionModule, EditionModule.id == EvaluationPart.edition_module_id)
        .join(Module, Module.id == EditionModule.module_id)
        .join(Edition, Edition.id == EditionModule.edition_id)
        .where(
            EvaluationForm.kind == FormKind.EVALUATION,
            EvaluationQuestion.scope == QuestionScope.MODULE,
            EvaluationQuestion.kind == QuestionKind.RATING,
            EvaluationAnswer.number.is_not(None),
        )
        .group_by(Module.id, Module.name, year)
        .order_by(Module.name, Module.id, year)
    )
    if years:
        query = query.where(year.in_(years))
    if kinds:
        query = query.where(Edition.kind.in_(kinds))
    return [
        ModuleScore(int(mid), name, int(y), round(float(mean), 2), int(n))
        for mid, name, y, mean, n in db.session.execute(query)
    ]


def parts_of_module(edition_module: EditionModule) -> list[EvaluationPart]:
    """The published forms' parts about one module (for the trainer's module page)."""
    return list(
        db.session.scalars(
            sa.select(EvaluationPart)
            .join(EvaluationForm, EvaluationForm.id == EvaluationPart.form_id)
            .where(
                EvaluationPart.edition_module_id == edition_module.id,
                EvaluationForm.published_at.is_not(None),
            )
            .options(joinedload(EvaluationPart.form))
            .order_by(EvaluationForm.id)
        )
    )
