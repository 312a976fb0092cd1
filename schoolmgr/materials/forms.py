"""Shapes of the material forms; the rules (types, sizes, names) live in uploads and editing."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional

from schoolmgr.forms import NoControlCharacters
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models import MaterialVisibility

VISIBILITY_CHOICES = [
    (MaterialVisibility.PARTICIPANTS.value, _l("Accepted participants of the edition only")),
    (MaterialVisibility.PUBLIC.value, _l("Public: anyone who opens the module page")),
]


class MaterialDetailsMixin:
    title = StringField(
        _l("Title"), validators=[DataRequired(), Length(max=200), NoControlCharacters()]
    )
    description = TextAreaField(
        _l("Description"), validators=[Optional(), Length(max=2000), NoControlCharacters()]
    )
    position = IntegerField(
        _l("Order"),
        default=0,
        validators=[InputRequired(), NumberRange(min=0, max=999)],
        description=_l("Materials are listed from the lowest number up."),
    )
    visibility = SelectField(_l("Who can see it"), choices=VISIBILITY_CHOICES)


class MaterialForm(MaterialDetailsMixin, FlaskForm):
    kind = RadioField(
        _l("Kind"),
        choices=[("file", _l("Upload a file")), ("link", _l("Add a link"))],
        default="file",
    )
    file = FileField(_l("File"))
    url = StringField(
        _l("Web address"),
        validators=[Optional(), URL(require_tld=False), Length(max=1000)],
        description=_l("For a link: the full address, starting with https://"),
    )


class DetailsForm(MaterialDetailsMixin, FlaskForm):
    pass


class ReplaceForm(FlaskForm):
    file = FileField(_l("New file"))
    url = StringField(_l("New web address"), validators=[Optional(), Length(max=1000)])


class DeleteForm(FlaskForm):
    reason = StringField(
        _l("Reason (optional, kept in the audit log)"),
        validators=[Optional(), Length(max=500), NoControlCharacters()],
    )
