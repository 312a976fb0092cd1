"""Nomination forms: the shape of the input only; the rules are in services.py."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from schoolmgr.forms import NoControlCharacters
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models import Nomination


class NominationForm(FlaskForm):
    """One registration's nomination; prefixed with the registration, so a page holds many."""

    decision = RadioField(
        _l("Your decision"),
        choices=lambda: [(n.value, n.label) for n in Nomination],
        validators=[InputRequired(message=_l("Choose to nominate or not."))],
    )
    rank = IntegerField(
        _l("Rank"),
        validators=[Optional(), NumberRange(min=1, max=999)],
        description=_l("1 for your first choice."),
    )
    note = TextAreaField(
        _l("Note for the programme staff"),
        validators=[Optional(), Length(max=1000), NoControlCharacters()],
        description=_l("The participant does not see it."),
    )


def nomination_form(registration, formdata=None) -> NominationForm:
    kwargs = {"prefix": f"r{registration.id}"}
    if formdata is None:
        return NominationForm(
            formdata=None,
            decision=registration.nomination.value if registration.nomination else None,
            rank=registration.nomination_rank,
            note=registration.nomination_note,
            **kwargs,
        )
    return NominationForm(**kwargs)
