"""The account deletion form: the shape of the input only."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField
from wtforms.validators import DataRequired, Length

from schoolmgr.i18n import lazy_gettext as _l


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("To confirm that it is you."),
    )
    confirm = BooleanField(
        _l("I understand that my account and personal data will be deleted for good."),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )
