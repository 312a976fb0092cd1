"""Programme forms: the shape of the input only; rules across records live in services."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms.validators import (
    URL,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
)

from schoolmgr.forms import (
    ConfirmPasswordField,
    GetForm,
    NewPasswordField,
    NoControlCharacters,
    OneLineField,
    SearchBox,
    WithinSchoolDays,
)
from schoolmgr.i18n import DEFAULT_LANGUAGE, LANGUAGES
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models import EditionFormat, EditionKind, RegistrationMode
from schoolmgr.models.edition import (
    CERTIFICATE_ENGLISH_ONLY,
    CERTIFICATE_PARTICIPANT_LANGUAGE,
    EDITION_FORMAT_LABELS,
    EDITION_KIND_LABELS,
    EDITION_STATUS_LABELS,
)
from schoolmgr.timeutils import to_utc

SLUG = Regexp(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    message=_l("Use lower-case letters, digits and hyphens, e.g. digital-transformation-2026."),
)
TIMEZONES = [
    "Europe/Belgrade",
    "Europe/Tirane",
    "Europe/Sarajevo",
    "Europe/Podgorica",
    "Europe/Skopje",
    "Europe/Zagreb",
    "Europe/Brussels",
    "Europe/Paris",
    "Europe/London",
    "UTC",
]


def _clean(value):
    return value.strip() if isinstance(value, str) else value


def SlugField(label, description="") -> StringField:  # noqa: N802 (reads like a field class)
    """An optional web-address part (lowercase letters, digits, hyphens)."""
    return StringField(
        label,
        validators=[Optional(), Length(max=120), SLUG],
        filters=[_clean],
        description=description,
    )


class EditionFilterForm(GetForm):
    q = SearchBox(_l("Title, address or series"))
    status = SelectField(
        _l("Status"),
        choices=[("", _l("All"))] + [(k.value, str(v)) for k, v in EDITION_STATUS_LABELS.items()],
        validators=[Optional()],
    )


class EditionForm(FlaskForm):
    title = StringField(
        _l("Title"),
        validators=[DataRequired(), Length(max=200), NoControlCharacters()],
        filters=[_clean],
    )
    slug = SlugField(
        _l("Web address"),
        _l("The edition's link is /editions/ followed by this. Left empty: made from the title."),
    )
    series = SlugField(
        _l("Series"),
        _l("Editions of one recurring school share it, e.g. digital-transformation."),
    )
    kind = SelectField(
        _l("Kind"), choices=[(k.value, str(v)) for k, v in EDITION_KIND_LABELS.items()]
    )
    format = SelectField(
        _l("Format"), choices=[(k.value, str(v)) for k, v in EDITION_FORMAT_LABELS.items()]
    )
    venue = StringField(_l("Venue"), validators=[Length(max=300), NoControlCharacters()])
    online_url = URLField(
        _l("Online meeting link"), validators=[Optional(), URL(), Length(max=500)]
    )
    timezone = SelectField(
        _l("Time zone"),
        choices=[(z, z) for z in TIMEZONES],
        default="Europe/Belgrade",
        description=_l(
            "Session times are entered and shown in this zone. Changing it keeps each session at "
            "the same local clock time."
        ),
    )
    start_date = DateField(_l("First day"), validators=[InputRequired(), WithinSchoolDays()])
    end_date = DateField(_l("Last day"), validators=[InputRequired(), WithinSchoolDays()])
    registration_opens_date = DateField(
        _l("Registration opens (day)"), validators=[Optional(), WithinSchoolDays()]
    )
    registration_opens_time = TimeField(
        _l("Registration opens (time)"), validators=[Optional()], default=None
    )
    registration_closes_date = DateField(
        _l("Registration closes (day)"), validators=[Optional(), WithinSchoolDays()]
    )
    registration_closes_time = TimeField(
        _l("Registration closes (time)"), validators=[Optional()], default=None
    )
    capacity = IntegerField(
        _l("Capacity"), validators=[InputRequired(), NumberRange(min=1, max=10000)], default=30
    )
    registration_mode = SelectField(
        _l("Registration mode"), choices=[(m.value, m.label) for m in RegistrationMode]
    )
    module_choice = BooleanField(_l("Participants choose the modules they attend"))
    description = TextAreaField(
        _l("Description"),
        validators=[Length(max=20000), NoControlCharacters()],
        render_kw={"rows": 6},
    )
    certificate_threshold = IntegerField(
        _l("Certificate threshold (% of sessions attended)"),
        validators=[InputRequired(), NumberRange(min=0, max=100)],
        default=80,
    )
    excused_counts_as_attended = BooleanField(
        _l("Excused absences count as attended"), default=True
    )
    show_attendance_on_certificate = BooleanField(_l("Show the attendance rate on certificates"))
    certificate_language = SelectField(
        _l("Certificate language"),
        choices=[
            (CERTIFICATE_ENGLISH_ONLY, _l("English only")),
            (
                CERTIFICATE_PARTICIPANT_LANGUAGE,
                _l("English and the participant’s language (from their profile)"),
            ),
            *(
                (language.tag, _l("English and %(language)s", language=language.endonym))
                for language in LANGUAGES
                if language.tag != DEFAULT_LANGUAGE
            ),
        ],
        default=CERTIFICATE_ENGLISH_ONLY,
        description=_l(
            "A bilingual certificate prints every phrase in English with its translation "
            "beneath. Issued certificates keep their languages."
        ),
    )
    signatories = TextAreaField(
        _l("Certificate signatories"),
        validators=[Length(max=2000), NoControlCharacters()],
        description=_l("One per line: Name | Title"),
        render_kw={"rows": 3},
    )

    def values(self) -> dict:
        """Plain values for the service, with local registration times turned into UTC."""
        from datetime import time

        tz = self.timezone.data
        opens = closes = None
        if self.registration_opens_date.data:
            opens = to_utc(
                self.registration_opens_date.data, self.registration_opens_time.data or time(0), tz
            )
        if self.registration_closes_date.data:
            closes = to_utc(
                self.registration_closes_date.data,
                self.registration_closes_time.data or time(23, 59),
                tz,
            )
        signatories = []
        for line in (self.signatories.data or "").splitlines():
            if line.strip():
                name, _, title = line.partition("|")
                signatories.append({"name": name.strip(), "title": title.strip(), "signature": ""})
        return {
            "title": self.title.data,
            "slug": self.slug.data or "",
            "series": self.series.data or None,
            "kind": EditionKind(self.kind.data),
            "format": EditionFormat(self.format.data),
            "venue": (self.venue.data or "").strip(),
            "online_url": (self.online_url.data or "").strip(),
            "timezone": tz,
            "start_date": self.start_date.data,
            "end_date": self.end_date.data,
            "registration_opens_at": opens,
            "registration_closes_at": closes,
            "capacity": self.capacity.data,
            "registration_mode": RegistrationMode(self.registration_mode.data),
            "module_choice": self.module_choice.data,
            "description": (self.description.data or "").strip(),
            "certificate_threshold": self.certificate_threshold.data,
            "excused_counts_as_attended": self.excused_counts_as_attended.data,
            "show_attendance_on_certificate": self.show_attendance_on_certificate.data,
            "certificate_language": self.certificate_language.data,
            "signatories": signatories,
        }

    def allow_timezone(self, name: str) -> None:
        """Keep an edition's zone choosable even when it is not one of the usual ones."""
        if name not in dict(self.timezone.choices):
            self.timezone.choices = [*self.timezone.choices, (name, name)]

    def load(self, edition) -> None:
        """Fill the form from an edition, registration times in its zone."""
        for name in (
            "title", "slug", "series", "venue", "online_url", "timezone", "start_date",
            "end_date", "capacity", "module_choice", "description", "certificate_threshold",
            "excused_counts_as_attended", "show_attendance_on_certificate",
            "certificate_language",
        ):  # fmt: skip
            getattr(self, name).data = getattr(edition, name)
        self.kind.data = edition.kind.value
        self.format.data = edition.format.value
        self.registration_mode.data = edition.registration_mode.value
        tz = edition.tz
        if edition.registration_opens_at:
            local = edition.registration_opens_at.astimezone(tz)
            self.registration_opens_date.data, self.registration_opens_time.data = (
                local.date(),
                local.time().replace(second=0, microsecond=0),
            )
        if edition.registration_closes_at:
            local = edition.registration_closes_at.astimezone(tz)
            self.registration_closes_date.data, self.registration_closes_time.data = (
                local.date(),
                local.time().replace(second=0, microsecond=0),
            )
        self.signatories.data = "\n".join(
            f"{s.get('name', '')} | {s.get('title', '')}" for s in edition.signatories or []
        )


class DuplicateForm(FlaskForm):
    title = StringField(
        _l("Title of the new edition"),
        validators=[DataRequired(), Length(max=200), NoControlCharacters()],
        filters=[_clean],
    )
    slug = SlugField(_l("Web address"))
    start_date = DateField(
        _l("First day of the new edition"),
        validators=[InputRequired(), WithinSchoolDays()],
        description=_l("Sessions and the registration window move by the same number of days."),
    )


class ModuleForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(max=200), NoControlCharacters()],
        filters=[_clean],
    )
    slug = SlugField(_l("Web address"), _l("Left empty: made from the name."))
    summary = StringField(_l("Summary"), validators=[Length(max=500), NoControlCharacters()])
    description = TextAreaField(
        _l("Description"),
        validators=[Length(max=20000), NoControlCharacters()],
        render_kw={"rows": 6},
    )


class AddModuleForm(FlaskForm):
    module_id = SelectField(_l("Module"), coerce=int, validators=[DataRequired()])
    mandatory = BooleanField(_l("Mandatory for the certificate"))


class TrainersForm(FlaskForm):
    trainers = SelectMultipleField(
        _l("Trainers"), coerce=int, description=_l("Hold Ctrl (or Cmd) to choose several.")
    )
    mandatory = BooleanField(_l("Mandatory for the certificate"))
    confirm_conflicts = BooleanField(_l("Save anyway, despite the overlaps listed above"))


class InviteTrainerForm(FlaskForm):
    full_name = OneLineField(_l("Full name"))
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    edition_module_id = HiddenField(label="")


class AcceptInvitationForm(FlaskForm):
    password = NewPasswordField(_l("Password"))
    confirm = ConfirmPasswordField(_l("Repeat password"))


class SessionForm(FlaskForm):
    day = DateField(_l("Day"), validators=[InputRequired(), WithinSchoolDays()])
    start_time = TimeField(_l("Starts"), validators=[InputRequired()])
    end_time = TimeField(_l("Ends"), validators=[InputRequired()])
    title = StringField(_l("Title"), validators=[Length(max=200), NoControlCharacters()])
    room = StringField(_l("Room"), validators=[Length(max=200), NoControlCharacters()])
    online_url = URLField(
        _l("Online meeting link"), validators=[Optional(), URL(), Length(max=500)]
    )
    confirm_conflicts = BooleanField(_l("Save anyway, despite the overlaps listed above"))
