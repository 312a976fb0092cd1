"""People forms: the shape of the input only."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from schoolmgr.forms import NoControlCharacters
from schoolmgr.models import Role


class RoleForm(FlaskForm):
    role = SelectField(
        _l("Role"), choices=[(r.value, r.label) for r in Role], validators=[DataRequired()]
    )
    reason = StringField(
        _l("Reason (optional)"), validators=[Length(max=500), NoControlCharacters()]
    )


class ActiveForm(FlaskForm):
    reason = StringField(
        _l("Reason (optional)"), validators=[Length(max=500), NoControlCharacters()]
    )
