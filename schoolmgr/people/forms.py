"""People forms: the shape of the input only."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from schoolmgr.forms import (
    GenderField,
    GetForm,
    InstitutionTypeField,
    NoControlCharacters,
    SearchBox,
    optional_choice,
)
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models import Country, Role

# The administrations a national coordinator can nominate for.
COORDINATOR_COUNTRIES = [c for c in Country if c is not Country.OTHER]


class UserFilterForm(GetForm):
    q = SearchBox(_l("Name, email, institution or country"))
    role = SelectField(
        _l("Role"),
        choices=[("", _l("All roles"))] + [(r.value, r.label) for r in Role],
        validators=[Optional()],
    )
    active = SelectField(
        _l("Status"),
        choices=[("", _l("All")), ("yes", _l("Active")), ("no", _l("Deactivated"))],
        validators=[Optional()],
    )


class RoleForm(FlaskForm):
    role = SelectField(
        _l("Role"), choices=[(r.value, r.label) for r in Role], validators=[DataRequired()]
    )
    coordinator_country = SelectField(
        _l("Country they coordinate"),
        choices=[("", _l("Only for national coordinators"))]
        + [(c.value, c.label) for c in COORDINATOR_COUNTRIES],
        validators=[optional_choice()],
        description=_l("A national coordinator sees and nominates the people of this country."),
    )
    reason = StringField(
        _l("Reason (optional)"),
        validators=[Length(max=500), NoControlCharacters()],
        id="role-reason",  # two forms of the page have a "reason"
    )


class ActiveForm(FlaskForm):
    reason = StringField(
        _l("Reason (optional)"),
        validators=[Length(max=500), NoControlCharacters()],
        id="active-reason",  # two forms of the page have a "reason"
    )


class ReportAnswersForm(FlaskForm):
    """The optional answers counted in the programme reports."""

    institution_type = InstitutionTypeField()
    gender = GenderField(description=_l("Only as the person gave it; leave it unanswered."))
