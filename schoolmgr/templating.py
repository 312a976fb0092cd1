"""Jinja filters and globals shared by all templates."""

from flask import Flask, current_app
from flask_login import current_user

from schoolmgr import timeutils
from schoolmgr.i18n import (
    LANGUAGES,
    current_language,
    fmt_decimal,
    fmt_list,
    fmt_number,
    fmt_percent,
    template_gettext,
    template_ngettext,
    template_npgettext,
    template_pgettext,
)
from schoolmgr.models import KOSOVO_FOOTNOTE, Country, utcnow
from schoolmgr.navigation import edition_tabs, nav_items


def has_endpoint(endpoint: str) -> bool:
    return endpoint in current_app.view_functions


def mentions_kosovo(*countries) -> bool:
    return any(c == Country.KOSOVO for c in countries)


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        local_datetime=timeutils.fmt_datetime,
        local_time=timeutils.fmt_time,
        local_date=timeutils.fmt_date,
        date_range=timeutils.fmt_date_range,
        number=fmt_number,
        decimal=fmt_decimal,
        percent=fmt_percent,
        natural_list=fmt_list,
    )
    app.jinja_env.globals.update(
        has_endpoint=has_endpoint,
        edition_tabs=edition_tabs,
        kosovo_footnote=KOSOVO_FOOTNOTE,
        Country=Country,
    )
    # `_()` and the other gettext functions: the catalogue i18n.get_translations finds, in
    # the newstyle of Jinja's i18n extension (a `{% trans %}` block passes its variables).
    app.jinja_env.newstyle_gettext = True
    app.jinja_env.globals.update(
        _=template_gettext,
        gettext=template_gettext,
        ngettext=template_ngettext,
        pgettext=template_pgettext,
        npgettext=template_npgettext,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def inject_layout():
        now = utcnow()
        return {
            "nav": nav_items(current_user),
            "now": now,
            "today": timeutils.today(now=now),
            "school_name": current_app.config["SCHOOL_NAME"],
            "school_short_name": current_app.config["SCHOOL_SHORT_NAME"],
            "languages": LANGUAGES,
            "current_language": current_language(),
        }
