"""Evaluation results: per form and part, for staff and trainers, as Excel; trends for Reports."""

import io
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from schoolmgr.evaluations.answering import eligible_counts, part_label, questions_for
from schoolmgr.exports import spreadsheet_safe
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    Edition,
    EditionModule,
    EvaluationAnswer,
    EvaluationForm,
    EvaluationPart,
    EvaluationQuestion,
    EvaluationResponse,
    EvaluationResponseAuthor,
    FormKind,
    Module,
    QuestionKind,
    QuestionScope,
    Registration,
    User,
    edition_module_trainers,
)

# Fewer answers than this could identify who wrote what: trainers see no results below it.
MIN_GROUP_SIZE = 5


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
                result.mean, result.median = mean_and_median(dist)
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


def mean_and_median(dist: dict[int, int]) -> tuple[float | None, float | None]:
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
    from openpyxl import Workbook  # imported when used: slow to import
    from openpyxl.styles import Font

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
