"""Shapes of the attendance forms. The roster's per-participant fields are read in the route."""

from datetime import UTC, datetime

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from schoolmgr.forms import GetForm, NoControlCharacters, SearchBox
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models import utcnow


class CheckinCodeForm(FlaskForm):
    code = StringField(
        _l("Check-in code"),
        validators=[DataRequired(), Length(max=20)],
        description=_l("The short code shown on the trainer's screen, e.g. K7M2QP."),
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )


class ApologyForm(FlaskForm):
    comment = TextAreaField(
        _l("Why you cannot attend"),
        validators=[DataRequired(), Length(max=1000), NoControlCharacters()],
        render_kw={"rows": 2},
    )


class RosterSearchForm(GetForm):
    q = SearchBox(_l("Name or institution"), label=_l("Find a participant"))


class RosterForm(FlaskForm):
    """The roster's own fields; each participant's status is a radio group named status-<id>."""

    method = SelectField(
        _l("How were these marks taken?"),
        choices=[
            ("trainer", _l("In the room, now")),
            ("import", _l("Afterwards, from the paper sign-in sheet")),
        ],
        default="trainer",
    )
    # When the page was shown (UTC, ISO 8601): "Save marks" counts the marks this visit changed,
    # including those already saved one by one as they were clicked.
    visit_started = HiddenField(label="")

    @property
    def visit_started_at(self) -> datetime | None:
        try:
            started = datetime.fromisoformat(self.visit_started.data or "")
        except (TypeError, ValueError):
            return None
        if started.tzinfo is None or started > utcnow():
            return None
        return started.astimezone(UTC)
