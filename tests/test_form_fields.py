"""Fields are drawn by WTForms' widgets with `schoolmgr.forms.html_params`, which writes their
attributes quicker than WTForms' own: the HTML must be the same, hostile values escaped."""

import pytest
from markupsafe import Markup
from wtforms import SelectField, StringField
from wtforms.widgets import core as widgets_core

from schoolmgr import forms
from schoolmgr.forms import GetForm

HOSTILE = '"><img src=x onerror=alert(1)>'

ATTRIBUTES = {
    "plain": {"name": "q", "id": "q", "value": "Ana Petrović"},
    "class and for": {"class_": "form-label", "for_": "q"},
    "data and aria": {"data_mark_url": "/a/b", "aria_describedby": "q-help q-error"},
    "true and false": {"required": True, "disabled": False, "multiple": True},
    "hostile value": {"value": HOSTILE, "placeholder": "<b>&'"},
    "markup with quotes": {"value": Markup('say "hi"'), "title": Markup("<i>x</i>")},
    "not text": {"maxlength": 200, "value": None, "step": 0.5},
    "none": {},
}


@pytest.mark.parametrize("attributes", ATTRIBUTES.values(), ids=ATTRIBUTES.keys())
def test_attributes_are_written_as_wtforms_writes_them(attributes):
    assert forms.html_params(**attributes) == forms.WTFORMS_HTML_PARAMS(**attributes)


class HostileForm(GetForm):
    q = StringField("Search <names>")
    country = SelectField(
        "Country", choices=[("", "All"), (HOSTILE, "<b>bold</b>"), ("RS", "Serbia")]
    )


def test_fields_are_drawn_the_same_as_by_wtforms_with_hostile_values_escaped(app, monkeypatch):
    with app.test_request_context(f"/?q={HOSTILE}&country=RS"):
        from flask import request

        form = HostileForm(request.args)

        def draw() -> str:
            return "".join(
                str(part)
                for part in (
                    form.q.label(class_="form-label"),
                    form.q(class_="form-control", aria_describedby="q-help", required=True),
                    form.country(class_="form-select", aria_invalid=False),
                )
            )

        quick = draw()
        wtforms_own = forms.WTFORMS_HTML_PARAMS
        monkeypatch.setattr(widgets_core, "html_params", wtforms_own)
        monkeypatch.setattr("wtforms.widgets.html_params", wtforms_own)
        for widget in (widgets_core.Input, widgets_core.Button):
            monkeypatch.setattr(widget, "html_params", staticmethod(wtforms_own))
        assert draw() == quick

    assert "<img" not in quick and "<b>" not in quick
    assert 'value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"' in quick
    assert '<option selected value="RS">Serbia</option>' in quick
    assert ">Search &lt;names&gt;</label>" in quick
