"""Sign-up and sign-in forms: the shape of the input only."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from schoolmgr.forms import (
    ConfirmPasswordField,
    CountryField,
    NewPasswordField,
    OneLineField,
)
from schoolmgr.i18n import lazy_gettext as _l


class SignupForm(FlaskForm):
    full_name = OneLineField(
        _l("Full name"), description=_l("As it should appear on your certificate.")
    )
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = NewPasswordField(_l("Password"))
    confirm = ConfirmPasswordField(_l("Repeat password"))
    country = CountryField(validators=[DataRequired()])
    institution = OneLineField(
        _l("Institution"), description=_l("Ministry, agency, municipality or organisation.")
    )
    position = OneLineField(_l("Position"), required=False)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in on this device"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = NewPasswordField(_l("New password"))
    confirm = ConfirmPasswordField(_l("Repeat new password"))
