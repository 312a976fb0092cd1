"""Form pieces shared by every area: choice lists and common validators."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import ValidationError

from schoolmgr.models import COUNTRY_LABELS, LANGUAGES

MIN_PASSWORD_LENGTH = 10


def country_choices(blank: bool = True) -> list[tuple[str, str]]:
    choices = [(country.value, str(label)) for country, label in COUNTRY_LABELS.items()]
    return ([("", str(_l("Choose a country")))] if blank else []) + choices


def language_choices() -> list[tuple[str, str]]:
    return list(LANGUAGES.items())


class NoControlCharacters:
    """Reject control characters (NUL, escape sequences) that no human types into a form."""

    def __call__(self, form, field):
        value = field.data
        if isinstance(value, str) and any(
            ord(c) < 32 and c not in "\n\r\t" or ord(c) == 127 for c in value
        ):
            raise ValidationError(_l("This field contains characters that are not allowed."))


def CountryField(label=None, **kwargs) -> SelectField:  # noqa: N802 (reads like a field class)
    return SelectField(label or _l("Country"), choices=country_choices(), **kwargs)
