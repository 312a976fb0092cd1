"""Credential forms: the shape of the input only."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileSize
from wtforms import TextAreaField
from wtforms.validators import Length

from schoolmgr.i18n import lazy_gettext as _l

MAX_FILE_BYTES = 5 * 1024 * 1024


class VerifyCredentialForm(FlaskForm):
    """A pasted credential, or a file holding one; the service says whether either is there."""

    credential = TextAreaField(
        _l("Paste the credential"),
        validators=[Length(max=200_000)],
        description=_l("The text of a .jwt file: three parts separated by dots (eyJ…)."),
    )
    file = FileField(
        _l("Or choose a file"),
        validators=[FileSize(MAX_FILE_BYTES, message=_l("The file is larger than 5 MB."))],
        description=_l("A .jwt file or a badge image (PNG or SVG) with the credential baked in."),
    )
