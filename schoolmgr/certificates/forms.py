"""Certificate forms: the shape of the input only."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from schoolmgr.forms import GetForm, NoControlCharacters
from schoolmgr.i18n import lazy_gettext as _l


class OverrideForm(FlaskForm):
    decision = HiddenField(label="", validators=[AnyOf(["granted", "excluded", "clear"])])
    reason = TextAreaField(
        _l("Reason"),
        validators=[Length(max=2000), NoControlCharacters()],
        description=_l("Recorded in the audit log."),
    )


class IssueForm(FlaskForm):
    """Issue all missing certificates, or one (registration_id set)."""

    registration_id = HiddenField(label="")
    # Sent by the confirmation page: issue although sessions of the edition are still to come.
    before_the_end = HiddenField(label="", validators=[Optional(), AnyOf(["yes"])])


class RevokeForm(FlaskForm):
    category = SelectField(_l("Why"), validators=[DataRequired()], choices=[])
    reason = TextAreaField(
        _l("Details"),
        validators=[DataRequired(), Length(min=5, max=2000), NoControlCharacters()],
        description=_l("Internal: the verify page shows only the category and the date."),
        id="revoke-reason",  # two forms of the page have a "reason"
    )


class ReissueForm(FlaskForm):
    reason = TextAreaField(
        _l("What is corrected"),
        validators=[DataRequired(), Length(min=5, max=2000), NoControlCharacters()],
        id="reissue-reason",  # two forms of the page have a "reason"
    )


class VerifyCodeForm(GetForm):
    code = StringField(
        _l("Verification code or serial number"),
        validators=[DataRequired(), Length(max=40)],
        description=_l(
            "The 20 letters and digits printed under the QR code (e.g. K7QH-M3XD-…), "
            "or the serial number (e.g. 2026-0006-00100)."
        ),
    )


class VerifyUploadForm(FlaskForm):
    pdf = FileField(_l("Certificate PDF"), validators=[FileRequired()])
