"""Announcement, letter-settings forms: the shape of the input only."""

import secrets

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField, URLField
from wtforms.validators import URL, DataRequired, Length, Optional, Regexp

from schoolmgr.forms import NoControlCharacters, country_choices
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.registration.forms import MultiCheckboxField


def new_key() -> str:
    return secrets.token_hex(16)


class AnnouncementForm(FlaskForm):
    statuses = MultiCheckboxField(
        _l("Registration status"),
        choices=[
            ("accepted", _l("Accepted")),
            ("waitlisted", _l("Waiting list")),
            ("pending", _l("Pending review")),
        ],
        default=["accepted"],
    )
    module = SelectField(_l("Module"), choices=[], validate_choice=True)
    country = SelectField(_l("Country"), choices=[])
    attended = SelectField(
        _l("Attendance"),
        choices=[
            ("", _l("Anyone")),
            ("yes", _l("Attended at least one session")),
            ("no", _l("Has not attended any session")),
        ],
    )
    subject = StringField(
        _l("Subject"), validators=[DataRequired(), Length(max=200), NoControlCharacters()]
    )
    body = TextAreaField(
        _l("Message"),
        validators=[DataRequired(), Length(max=20000), NoControlCharacters()],
        description=_l(
            "Placeholders: {first_name}, {edition}, {my_sessions} (their sessions, one per "
            "line), {online_link} (the meeting link, for accepted participants only)."
        ),
        render_kw={"rows": 10},
    )
    materials = MultiCheckboxField(_l("Attach materials"), choices=[], coerce=str)
    preview_for = SelectField(_l("Preview for"), choices=[], validate_choice=False)
    # The count the preview showed: if the audience changed since, staff preview again.
    expected_count = HiddenField(label="", validators=[Optional(), Regexp(r"^[0-9]{1,7}$")])
    # A new key per compose page: a second submission of the same page sends nothing again.
    idempotency_key = HiddenField(
        label="", validators=[DataRequired(), Regexp(r"^[0-9a-f]{32}$")], default=new_key
    )

    def set_choices(self, edition, materials) -> None:
        self.module.choices = [("", _l("All modules"))] + [
            (str(em.id), em.module.name) for em in edition.edition_modules
        ]
        self.country.choices = [("", _l("All countries"))] + country_choices(blank=False)
        self.materials.choices = [(str(m.id), m.title) for m in materials]


class LetterSettingsForm(FlaskForm):
    letter_covers = TextAreaField(
        _l("What the school covers"),
        validators=[Optional(), Length(max=5000), NoControlCharacters()],
        description=_l(
            "Written into every invitation letter, e.g. travel, accommodation and meals."
        ),
        render_kw={"rows": 5},
    )
    map_url = URLField(
        _l("Map link of the venue"),
        validators=[Optional(), Length(max=500), URL(require_tld=False), NoControlCharacters()],
        description=_l("Shown in reminders the day before an in-person session."),
    )
