"""Audit log filter form (GET)."""

from wtforms import DateField, SelectField
from wtforms.validators import Optional

from schoolmgr.forms import GetForm
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.i18n import lazy_pgettext


class AuditFilterForm(GetForm):
    action = SelectField(_l("Action"), choices=[], validators=[Optional()], validate_choice=False)
    actor = SelectField(_l("Who"), choices=[], validators=[Optional()], validate_choice=False)
    edition = SelectField(_l("Edition"), choices=[], validators=[Optional()], validate_choice=False)
    date_from = DateField(lazy_pgettext("date range", "From"), validators=[Optional()])
    date_to = DateField(lazy_pgettext("date range", "To"), validators=[Optional()])
