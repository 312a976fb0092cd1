"""Shapes of the evaluation forms; the rules (locking, opening, answering once) live in services.

The answer page is built from the questions stored in the database, so its values are checked by
`services.clean_answers`; `AnswerForm` carries the CSRF token.
"""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from schoolmgr.forms import NoControlCharacters
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models import FormKind, QuestionKind, QuestionScope


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class AnswerForm(FlaskForm):
    """The CSRF token of the answer page; the answers are read per question by the route."""


class NewEvaluationForm(FlaskForm):
    kind = RadioField(
        _l("Kind of form"),
        choices=[
            (FormKind.EVALUATION.value, _l("Evaluation (at the end of each module and edition)")),
            (FormKind.FOLLOW_UP.value, _l("Follow-up survey (months after the edition)")),
        ],
        default=FormKind.EVALUATION.value,
    )
    follow_up_months = SelectField(
        _l("Follow-up after"),
        choices=[("3", _l("3 months")), ("6", _l("6 months"))],
        default="3",
        description=_l("Only for a follow-up survey."),
    )


class SettingsForm(FlaskForm):
    title = StringField(
        _l("Title"), validators=[DataRequired(), Length(max=200), NoControlCharacters()]
    )
    intro = TextAreaField(
        _l("Introduction shown above the questions"),
        validators=[Optional(), Length(max=2000), NoControlCharacters()],
    )
    named = BooleanField(
        _l("Named: keep who answered what (participants are told before they answer)")
    )
    reminder_days = IntegerField(
        _l("Send one reminder after (days)"),
        default=7,
        validators=[InputRequired(), NumberRange(min=1, max=60)],
    )


class QuestionFields:
    kind = SelectField(
        _l("Kind of answer"), choices=lambda: [(k.value, k.label) for k in QuestionKind]
    )
    text = StringField(
        _l("Question"), validators=[DataRequired(), Length(max=300), NoControlCharacters()]
    )
    help = StringField(
        _l("Help text (optional)"),
        validators=[Optional(), Length(max=300), NoControlCharacters()],
    )
    required = BooleanField(_l("An answer is required"), default=True)
    choices = TextAreaField(
        _l("Options, one per line"),
        validators=[Optional(), Length(max=4000), NoControlCharacters()],
        description=_l("Only for single and multiple choice questions."),
    )

    def choice_list(self) -> list[str]:
        return [line for line in (self.choices.data or "").splitlines() if line.strip()]


class QuestionForm(QuestionFields, FlaskForm):
    scope = SelectField(
        _l("Asked about"),
        choices=lambda: [(s.value, s.label) for s in QuestionScope],
        default=QuestionScope.MODULE.value,
    )


class EditQuestionForm(QuestionFields, FlaskForm):
    pass


class MoveForm(FlaskForm):
    direction = SelectField(label="", choices=[("up", _l("Up")), ("down", _l("Down"))])
