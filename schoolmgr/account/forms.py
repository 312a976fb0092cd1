"""Profile and password forms: the shape of the input only."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField
from wtforms.validators import DataRequired, Length, Optional

from schoolmgr.forms import (
    MIN_PASSWORD_LENGTH,
    ConfirmPasswordField,
    CountryField,
    GenderField,
    InstitutionTypeField,
    NewPasswordField,
    OneLineField,
    language_choices,
)
from schoolmgr.i18n import lazy_gettext as _l


class ProfileForm(FlaskForm):
    full_name = OneLineField(
        _l("Full name"), description=_l("As it should appear on your certificate.")
    )
    institution = OneLineField(_l("Institution"), required=False)
    position = OneLineField(_l("Position"), required=False)
    institution_type = InstitutionTypeField()
    country = CountryField(validators=[Optional()])
    gender = GenderField()
    preferred_language = SelectField(
        _l("Preferred language"), choices=language_choices(), validators=[DataRequired()]
    )
    wants_announcements = BooleanField(
        _l("Announcements by email"),
        description=_l(
            "News from the programme staff about your editions. Without it you still see them "
            "on your registrations page, and still get confirmations, changes to your sessions "
            "and certificates by email."
        ),
    )


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=200)]
    )
    new_password = NewPasswordField(
        _l("New password"),
        description=_l(
            "At least %(n)d characters. Your other signed-in devices are signed out.",
            n=MIN_PASSWORD_LENGTH,
        ),
    )
    confirm = ConfirmPasswordField(_l("Repeat new password"), "new_password")
