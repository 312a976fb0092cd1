"""Registration forms: the shape of the input only; the rules are in services.py."""

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from schoolmgr.forms import (
    CountryField,
    GenderField,
    GetForm,
    InstitutionTypeField,
    NoControlCharacters,
    OneLineField,
    SearchBox,
    WithinSchoolDays,
    country_choices,
)
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models import Country
from schoolmgr.models.registration import REGISTRATION_STATUS_LABELS


class CheckboxGroupWidget:
    """A group of Bootstrap check boxes, one per choice, labelled by the field's label."""

    def __call__(self, field, **kwargs):
        kwargs.pop("aria_invalid", None)
        css = kwargs.pop("class_", "")
        described = kwargs.pop("aria_describedby", None)
        parts = [
            f'<div id="{escape(field.id)}" class="{escape(css)} checkbox-group" role="group"'
            f' aria-labelledby="{escape(field.id)}-legend"'
            + (f' aria-describedby="{escape(described)}"' if described else "")
            + ">"
        ]
        parts.append(
            f'<span id="{escape(field.id)}-legend" class="visually-hidden">'
            f"{escape(field.label.text)}</span>"
        )
        for i, (value, label, checked, _render_kw) in enumerate(field.iter_choices()):
            box_id = f"{field.id}-{i}"
            parts.append(
                '<div class="form-check">'
                f'<input class="form-check-input" type="checkbox" name="{escape(field.name)}"'
                f' id="{escape(box_id)}" value="{escape(value)}"{" checked" if checked else ""}>'
                f'<label class="form-check-label" for="{escape(box_id)}">{escape(label)}</label>'
                "</div>"
            )
        parts.append("</div>")
        return Markup("".join(parts))


class MultiCheckboxField(SelectMultipleField):
    widget = CheckboxGroupWidget()


class RegistrationForm(FlaskForm):
    country = CountryField(validators=[DataRequired()])
    institution = OneLineField(
        _l("Institution"), description=_l("Ministry, agency, municipality or organisation.")
    )
    institution_type = InstitutionTypeField()
    position = OneLineField(_l("Position"))
    gender = GenderField()
    modules = MultiCheckboxField(
        _l("Modules you want to attend"),
        coerce=int,
        choices=[],
        validate_choice=False,  # the service checks the modules belong to the edition
        description=_l("Mandatory modules are included in any case."),
    )
    motivation = TextAreaField(
        _l("Motivation"),
        validators=[Length(max=3000), NoControlCharacters()],
        description=_l("What you hope to bring back to your institution."),
        render_kw={"rows": 4},
    )
    needs = TextAreaField(
        _l("Accessibility or other needs"),
        validators=[Length(max=2000), NoControlCharacters()],
        description=_l("Diet, mobility, interpretation, anything that helps you take part."),
        render_kw={"rows": 2},
    )
    consent = BooleanField(
        _l(
            "I agree that the school processes my personal data to organise this edition, "
            "issue certificates and keep attendance records."
        ),
    )


class CancelForm(FlaskForm):
    """Only the CSRF token: cancelling asks for confirmation on the page."""


class CalendarResetForm(FlaskForm):
    """Only the CSRF token: a new private calendar address."""


class BulkActionForm(FlaskForm):
    action = SelectField(
        _l("Action"),
        choices=[
            ("accept", _l("Accept")),
            ("waitlist", _l("Move to waiting list")),
            ("reject", _l("Reject")),
            ("cancel", _l("Cancel")),
        ],
        validators=[DataRequired()],
    )
    reason = StringField(
        _l("Reason (optional, kept in the audit log)"),
        validators=[Optional(), Length(max=500), NoControlCharacters()],
    )
    ids = SelectMultipleField(_l("Registrations"), coerce=int, choices=[], validate_choice=False)
    next = HiddenField(label="")


class CapacityForm(FlaskForm):
    capacity = IntegerField(
        _l("Capacity"),
        validators=[InputRequired(), NumberRange(min=0, max=100_000)],
        description=_l("Raising the capacity accepts people from the waiting list in order."),
    )


def _quota_field(country: Country) -> IntegerField:
    return IntegerField(
        country.label,
        validators=[Optional(), NumberRange(min=0, max=100_000)],
        description=_l("Seats for everyone else") if country is Country.OTHER else None,
    )


class CountrySeatsForm(FlaskForm):
    """Seats reserved per country (empty or 0: none), their release date, nominations."""

    nomination_required = BooleanField(
        _l("Registrations need a nomination by the national coordinator"),
        description=_l(
            "Registrations stay pending until the coordinator of the person's country nominates "
            "them; then you decide as usual."
        ),
    )
    release_date = DateField(
        _l("Release unused country seats on (day)"),
        validators=[Optional(), WithinSchoolDays()],
        description=_l("From then on, free seats go to the waiting list in order, any country."),
    )
    release_time = TimeField(_l("at (time, edition's time zone)"), validators=[Optional()])

    @classmethod
    def quota_name(cls, country: Country) -> str:
        return f"quota_{country.value.lower()}"

    def quota_fields(self) -> list:
        return [getattr(self, self.quota_name(c)) for c in Country]

    def quotas(self) -> dict[Country, int | None]:
        return {c: getattr(self, self.quota_name(c)).data for c in Country}


for _country in Country:
    setattr(CountrySeatsForm, CountrySeatsForm.quota_name(_country), _quota_field(_country))


class ReleaseSeatsForm(FlaskForm):
    """Release the unused country seats now (a button)."""


class FilterForm(GetForm):
    """The staff list filters."""

    q = SearchBox(_l("Name, email or institution"))
    status = SelectField(
        _l("Status"),
        choices=[("", _l("All statuses"))]
        + [(s.value, label) for s, label in REGISTRATION_STATUS_LABELS.items()],
        validators=[Optional()],
        validate_choice=False,
    )
    country = SelectField(
        _l("Country"),
        choices=lambda: [("", _l("All countries"))] + country_choices(blank=False),
        validators=[Optional()],
        validate_choice=False,
    )
    module = SelectField(_l("Module"), choices=[], validators=[Optional()], validate_choice=False)
