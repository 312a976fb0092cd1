"""Answering evaluations: when parts open, who may answer them, and answering once.

Anonymity: an answer (EvaluationResponse + EvaluationAnswer) is stored without any link to the
person (see schoolmgr/models/evaluation.py); the separate EvaluationSubmission only records that
a registration has answered a part. Nothing in this package joins the two.
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from schoolmgr.evaluations.errors import EvaluationError
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    ATTENDED_STATUSES,
    Attendance,
    EditionModule,
    EvaluationAnswer,
    EvaluationForm,
    EvaluationPart,
    EvaluationQuestion,
    EvaluationResponse,
    EvaluationResponseAuthor,
    EvaluationSubmission,
    FormKind,
    QuestionKind,
    Registration,
    RegistrationStatus,
    Session,
    User,
    utcnow,
)
from schoolmgr.models.evaluation import random_response_id
from schoolmgr.timeutils import to_utc


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
    if not form.is_open:
        return False
    if part.opened_at is not None:
        return True
    opens_at = openings.get(part.id)
    return opens_at is not None and now >= opens_at


def eligible_registrations(part: EvaluationPart) -> sa.Select:
    """Accepted registrations of the edition that attended the module (or any session)."""
    attended = (
        sa.select(sa.literal(1))
        .select_from(Attendance)
        .join(Session, Session.id == Attendance.session_id)
        .where(
            Attendance.registration_id == Registration.id,
            Attendance.status.in_(ATTENDED_STATUSES),
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
                    Attendance.status.in_(ATTENDED_STATUSES),
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
                    Attendance.status.in_(ATTENDED_STATUSES),
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
            EvaluationForm.is_open,
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
                Attendance.status.in_(ATTENDED_STATUSES),
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
        db.session.scalar(eligible_registrations(part).where(Registration.id == registration_id))
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


def _already_answered() -> EvaluationError:
    """The refusal when the one answer per participant and part is already in (a unique key)."""
    return EvaluationError(_("You have already answered. Thank you!"), "already_answered", 409)


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
        raise _already_answered() from None
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
        raise _already_answered() from None
