"""The report filters: the shape of the input only (a GET form)."""

from schoolmgr.forms import GetForm
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models import COUNTRY_LABELS
from schoolmgr.models.edition import EDITION_KIND_LABELS
from schoolmgr.registration.forms import MultiCheckboxField


class ReportFilterForm(GetForm):
    """Years, kinds of edition and countries; nothing chosen means everything."""

    year = MultiCheckboxField(_l("Years"), coerce=int, choices=[])
    kind = MultiCheckboxField(
        _l("Kinds of edition"), choices=[(k.value, lbl) for k, lbl in EDITION_KIND_LABELS.items()]
    )
    country = MultiCheckboxField(
        _l("Countries of participants"),
        choices=[(c.value, lbl) for c, lbl in COUNTRY_LABELS.items()],
    )

    def __init__(self, *args, years: list[int] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.year.choices = [(y, str(y)) for y in years]
