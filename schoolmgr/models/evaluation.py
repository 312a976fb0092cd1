"""Evaluation and follow-up surveys of an edition: forms, their questions and parts, answers.

Anonymity is built into the tables, not only into the pages:
- `evaluation_responses` and `evaluation_answers` have no column that points at a person or a
  registration, no timestamp finer than the day, and a random (not sequential) key, so neither a
  join nor the order of keys can match an answer with the `evaluation_submissions` record that
  says "this registration has answered this part".
- `evaluation_submissions` says only that: (part, registration), unique, no time at all.
- Only a form that staff made *named* (and participants were told so before answering) links a
  response to its registration, in the separate table `evaluation_response_authors`.
"""

import enum
import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from schoolmgr.extensions import db
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models.edition import Edition, EditionModule
from schoolmgr.models.types import UTCDateTime, enum_type, utcnow


class FormKind(enum.StrEnum):
    EVALUATION = "evaluation"  # at the end of each module and of the edition
    FOLLOW_UP = "follow_up"  # months later: did it change anything at work?

    @property
    def label(self) -> str:
        return str(FORM_KIND_LABELS[self])


FORM_KIND_LABELS = {
    FormKind.EVALUATION: _l("Evaluation"),
    FormKind.FOLLOW_UP: _l("Follow-up survey"),
}


class QuestionKind(enum.StrEnum):
    RATING = "rating"  # 1-5
    SCALE = "scale"  # 0-10
    SINGLE = "single"
    MULTIPLE = "multiple"
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"

    @property
    def label(self) -> str:
        return str(QUESTION_KIND_LABELS[self])

    @property
    def is_numeric(self) -> bool:
        return self in (QuestionKind.RATING, QuestionKind.SCALE)

    @property
    def has_choices(self) -> bool:
        return self in (QuestionKind.SINGLE, QuestionKind.MULTIPLE)

    @property
    def is_text(self) -> bool:
        return self in (QuestionKind.SHORT_TEXT, QuestionKind.LONG_TEXT)

    @property
    def scale(self) -> range:
        return range(1, 6) if self is QuestionKind.RATING else range(0, 11)


QUESTION_KIND_LABELS = {
    QuestionKind.RATING: _l("Rating 1–5"),
    QuestionKind.SCALE: _l("Scale 0–10"),
    QuestionKind.SINGLE: _l("Single choice"),
    QuestionKind.MULTIPLE: _l("Multiple choice"),
    QuestionKind.SHORT_TEXT: _l("Short text"),
    QuestionKind.LONG_TEXT: _l("Long text"),
}


class QuestionScope(enum.StrEnum):
    MODULE = "module"  # asked once for every module of the edition
    EDITION = "edition"  # asked once about the edition as a whole

    @property
    def label(self) -> str:
        return str(_l("Each module") if self is QuestionScope.MODULE else _l("The edition"))


class EvaluationForm(db.Model):
    __tablename__ = "evaluation_forms"
    __table_args__ = (
        sa.CheckConstraint("reminder_days >= 1 AND reminder_days <= 60", name="reminder_days"),
        sa.CheckConstraint(
            "follow_up_months IS NULL OR follow_up_months IN (3, 6)", name="follow_up_months"
        ),
        sa.CheckConstraint(
            "(kind = 'follow_up') = (follow_up_months IS NOT NULL)", name="months_iff_follow_up"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    edition_id: Mapped[int] = mapped_column(
        sa.ForeignKey("editions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[FormKind] = mapped_column(enum_type(FormKind), default=FormKind.EVALUATION)
    title: Mapped[str] = mapped_column(sa.String(200))
    intro: Mapped[str] = mapped_column(sa.Text, default="")
    # Named forms keep who answered what; participants are told before they answer.
    named: Mapped[bool] = mapped_column(default=False)
    follow_up_months: Mapped[int | None]
    reminder_days: Mapped[int] = mapped_column(default=7)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    copied_from_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("evaluation_forms.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    edition: Mapped[Edition] = relationship()
    questions: Mapped[list["EvaluationQuestion"]] = relationship(
        back_populates="form",
        order_by="(EvaluationQuestion.scope, EvaluationQuestion.position, EvaluationQuestion.id)",
        cascade="all, delete-orphan",
    )
    parts: Mapped[list["EvaluationPart"]] = relationship(
        back_populates="form", cascade="all, delete-orphan", order_by="EvaluationPart.position"
    )

    def __repr__(self) -> str:
        return f"<EvaluationForm {self.id} {self.kind} edition={self.edition_id}>"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    @hybrid_property
    def is_open(self) -> bool:
        """Published and not closed: participants may answer; usable in queries too."""
        return self.published_at is not None and self.closed_at is None

    @is_open.inplace.expression
    @classmethod
    def _is_open_expression(cls) -> sa.ColumnElement[bool]:
        return sa.and_(cls.published_at.is_not(None), cls.closed_at.is_(None))

    @property
    def status_label(self) -> str:
        if self.is_closed:
            return str(_l("Closed"))
        return str(_l("Published") if self.is_published else _l("Draft"))


class EvaluationQuestion(db.Model):
    __tablename__ = "evaluation_questions"
    __table_args__ = (sa.Index("ix_evaluation_questions_form", "form_id", "scope", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation_forms.id", ondelete="CASCADE"))
    scope: Mapped[QuestionScope] = mapped_column(enum_type(QuestionScope))
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[QuestionKind] = mapped_column(enum_type(QuestionKind))
    text: Mapped[str] = mapped_column(sa.String(300))
    help: Mapped[str] = mapped_column(sa.String(300), default="")
    required: Mapped[bool] = mapped_column(default=True)
    choices: Mapped[list] = mapped_column(sa.JSON, default=list)  # for single/multiple choice

    form: Mapped[EvaluationForm] = relationship(back_populates="questions")

    def __repr__(self) -> str:
        return f"<EvaluationQuestion {self.id} {self.kind}>"


class EvaluationPart(db.Model):
    """What one answers in one go: one module of the edition, or the edition as a whole."""

    __tablename__ = "evaluation_parts"
    __table_args__ = (
        sa.UniqueConstraint("form_id", "edition_module_id"),
        sa.Index("ix_evaluation_parts_edition_module_id", "edition_module_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation_forms.id", ondelete="CASCADE"))
    # NULL: the edition part (one per form, kept so by the services).
    edition_module_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("edition_modules.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(default=0)
    # Opened by hand before its time (otherwise it opens by the schedule).
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    form: Mapped[EvaluationForm] = relationship(back_populates="parts")
    edition_module: Mapped[EditionModule | None] = relationship()

    def __repr__(self) -> str:
        return f"<EvaluationPart {self.id} form={self.form_id} em={self.edition_module_id}>"

    @property
    def scope(self) -> QuestionScope:
        return QuestionScope.EDITION if self.edition_module_id is None else QuestionScope.MODULE


class EvaluationSubmission(db.Model):
    """'This registration has answered this part.' Nothing else: no time, no answer."""

    __tablename__ = "evaluation_submissions"

    part_id: Mapped[int] = mapped_column(
        sa.ForeignKey("evaluation_parts.id", ondelete="CASCADE"), primary_key=True
    )
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class EvaluationInvitation(db.Model):
    """The one invitation email (and the one reminder) sent for a part to a registration."""

    __tablename__ = "evaluation_invitations"

    part_id: Mapped[int] = mapped_column(
        sa.ForeignKey("evaluation_parts.id", ondelete="CASCADE"), primary_key=True
    )
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def random_response_id() -> str:
    return uuid.uuid4().hex


class EvaluationResponse(db.Model):
    """One anonymous set of answers to one part: no person, no registration, only the day."""

    __tablename__ = "evaluation_responses"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=random_response_id)
    part_id: Mapped[int] = mapped_column(
        sa.ForeignKey("evaluation_parts.id", ondelete="CASCADE"), index=True
    )
    submitted_on: Mapped[date]

    part: Mapped[EvaluationPart] = relationship()
    answers: Mapped[list["EvaluationAnswer"]] = relationship(
        back_populates="response", cascade="all, delete-orphan"
    )


class EvaluationAnswer(db.Model):
    """One answer; a multiple-choice question has one row per ticked option (`item`)."""

    __tablename__ = "evaluation_answers"
    __table_args__ = (sa.Index("ix_evaluation_answers_question", "question_id", "number"),)

    response_id: Mapped[str] = mapped_column(
        sa.ForeignKey("evaluation_responses.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[int] = mapped_column(
        sa.ForeignKey("evaluation_questions.id", ondelete="CASCADE"), primary_key=True
    )
    item: Mapped[int] = mapped_column(primary_key=True, default=0)
    # Ratings and scales: the value; choices: the option's index.
    number: Mapped[int | None]
    text: Mapped[str] = mapped_column(sa.Text, default="")

    response: Mapped[EvaluationResponse] = relationship(back_populates="answers")
    question: Mapped[EvaluationQuestion] = relationship()


class EvaluationResponseAuthor(db.Model):
    """Who wrote a response: only for named forms, never written for anonymous ones."""

    __tablename__ = "evaluation_response_authors"

    response_id: Mapped[str] = mapped_column(
        sa.ForeignKey("evaluation_responses.id", ondelete="CASCADE"), primary_key=True
    )
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
