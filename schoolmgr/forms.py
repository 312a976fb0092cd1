"""Form pieces shared by every area: choice lists, common validators and fields, GET forms."""

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import HiddenField, PasswordField, SearchField, SelectField, StringField
from wtforms import widgets as wtforms_widgets
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError
from wtforms.widgets import core as widgets_core

from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models import COUNTRY_LABELS, GENDER_LABELS, INSTITUTION_TYPE_LABELS, LANGUAGES
from schoolmgr.text import line_problem, normalise_line
from schoolmgr.timeutils import SCHOOL_DAYS

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


class WithinSchoolDays:
    """A day of timeutils.SCHOOL_DAYS (an empty optional field passes)."""

    def __call__(self, form, field):
        first, last = SCHOOL_DAYS
        if field.data is not None and not first <= field.data <= last:
            raise ValidationError(_l("Enter a day from the year 2000 to 2099."))


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


# --- drawing fields ----------------------------------------------------------------------------
# WTForms' `html_params` writes each attribute through a markupsafe string formatter: about 8 µs
# an attribute, most of the time WTForms takes to draw a field (40–120 µs; a staff list draws
# a dozen fields and labels). This one gives the same attributes in the same order, escaped the
# same way, with an f-string; `use_quick_html_params` has WTForms' widgets and labels use it.

WTFORMS_HTML_PARAMS = widgets_core.html_params  # the original, which tests compare it with


def html_params(**kwargs) -> Markup:
    """HTML attributes from keyword arguments, as WTForms' `html_params` writes them: sorted
    by name, `class_` and `for_` without their underscore, `data_` and `aria_` names with
    hyphens, True as a bare name, False left out, every value escaped (quotes too)."""
    attributes = []
    for key, value in sorted(kwargs.items()):
        if value is True:
            attributes.append(widgets_core.clean_key(key))
        elif value is not False:
            name = escape(widgets_core.clean_key(key))
            quoted = str(escape(value)).replace('"', "&quot;")  # a Markup value may hold quotes
            attributes.append(f'{name}="{quoted}"')
    return Markup(" ".join(attributes))


def use_quick_html_params() -> None:
    """Have WTForms draw attributes with `html_params` above (its widgets and labels look the
    function up in these places)."""
    widgets_core.html_params = wtforms_widgets.html_params = html_params
    for widget in (widgets_core.Input, widgets_core.Button):
        widget.html_params = staticmethod(html_params)
