"""Form pieces shared by every area: choice lists, common validators and fields, GET forms."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SearchField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models import COUNTRY_LABELS, GENDER_LABELS, INSTITUTION_TYPE_LABELS, LANGUAGES
from schoolmgr.text import line_problem, normalise_line

MIN_PASSWORD_LENGTH = 10


def country_choices(blank: bool = True) -> list[tuple[str, str]]:
    choices = [(country.value, str(label)) for country, label in COUNTRY_LABELS.items()]
    return ([("", str(_l("Choose a country")))] if blank else []) + choices


def language_choices() -> list[tuple[str, str]]:
    return list(LANGUAGES.items())


class GetForm(FlaskForm):
    """A form sent with GET (filters, searches, lookups): it changes nothing, so no CSRF token."""

    class Meta:
        csrf = False


def SearchBox(placeholder, label=None) -> SearchField:  # noqa: N802 (reads like a field class)
    """The search box of a list: optional, at most 200 characters."""
    return SearchField(
        label or _l("Search"),
        validators=[Optional(), Length(max=200)],
        render_kw={"placeholder": placeholder},
    )


class NoControlCharacters:
    """Reject control characters (NUL, escape sequences) that no human types into a form."""

    def __call__(self, form, field):
        value = field.data
        if isinstance(value, str) and any(
            ord(c) < 32 and c not in "\n\r\t" or ord(c) == 127 for c in value
        ):
            raise ValidationError(_l("This field contains characters that are not allowed."))


class OneLine:
    """The one check for names and other one-line text about a person (institution,
    position): no line breaks, no bidi controls that reorder what is printed, not blank when
    printed. Use with the `one_line` filter, which normalises first (see `OneLineField`)."""

    MESSAGES = {
        "line_break": _l("Write this on one line."),
        "bidi": _l(
            "This field contains invisible characters that change the direction of the text."
        ),
        "blank": _l("This field would print as blank. Use letters."),
    }

    def __call__(self, form, field):
        problem = line_problem(field.data) if isinstance(field.data, str) else None
        if problem:
            raise ValidationError(self.MESSAGES[problem])


def one_line(value):
    """Filter: NFC, zero-width characters dropped, spaces collapsed, trimmed."""
    return normalise_line(value) if isinstance(value, str) else value


def OneLineField(label, required: bool = True, **kwargs) -> StringField:  # noqa: N802
    """A person's name, institution or position: normalised, one line, at most 200 characters,
    printable (it goes on certificates and lists)."""
    return StringField(
        label,
        validators=[
            DataRequired() if required else Optional(),
            Length(max=200),
            NoControlCharacters(),
            OneLine(),
        ],
        filters=[one_line],
        **kwargs,
    )


def CountryField(label=None, **kwargs) -> SelectField:  # noqa: N802 (reads like a field class)
    # A callable: the choices are built per form, in the language of the request.
    return SelectField(label or _l("Country"), choices=country_choices, **kwargs)


def optional_choice() -> Optional:
    """Optional for a select: only a missing or empty value means "not answered". WTForms'
    Optional takes whitespace for empty too and then clears the select's "Not a valid choice",
    so " " would reach the service as a value (a 500 where a 400 belongs)."""
    return Optional(strip_whitespace=False)


def GenderField(label=None, **kwargs) -> SelectField:  # noqa: N802
    """Optional: the blank choice means "not answered" (stored as NULL)."""
    return SelectField(
        label or _l("Gender (optional)"),
        choices=[("", _l("Not answered"))] + [(g.value, lbl) for g, lbl in GENDER_LABELS.items()],
        validators=[optional_choice()],
        **{
            "description": _l(
                "Only counted in reports, never shown to other participants: funders ask for it."
            ),
            **kwargs,
        },
    )


def InstitutionTypeField(label=None, **kwargs) -> SelectField:  # noqa: N802
    """Optional: the blank choice means "not answered" (stored as NULL)."""
    return SelectField(
        label or _l("Type of organisation (optional)"),
        choices=[("", _l("Not answered"))]
        + [(t.value, lbl) for t, lbl in INSTITUTION_TYPE_LABELS.items()],
        validators=[optional_choice()],
        **kwargs,
    )


def NewPasswordField(label=None, description=None) -> PasswordField:  # noqa: N802
    """A new password: the one length rule for every form that sets a password."""
    return PasswordField(
        label or _l("Password"),
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=200,
                message=_l(
                    "Choose a password of at least %(n)d characters.", n=MIN_PASSWORD_LENGTH
                ),
            ),
        ],
        description=description or _l("At least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
    )


def ConfirmPasswordField(label=None, fieldname: str = "password") -> PasswordField:  # noqa: N802
    return PasswordField(
        label or _l("Repeat password"),
        validators=[DataRequired(), EqualTo(fieldname, message=_l("Passwords do not match."))],
    )


class LanguageForm(FlaskForm):
    """The language menu in the header of every page.

    Its `next`, like every field no one sees the label of, has an empty label all the same:
    without one WTForms would make one from the name, and translate it by reading its own
    catalogue from disk, on every request that builds the form."""

    language = SelectField(_l("Language"), choices=language_choices)
    next = HiddenField(label="", validators=[Optional(), Length(max=2000)])
