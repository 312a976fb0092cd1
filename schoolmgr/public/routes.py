"""Public pages: home, edition page, module catalogue."""

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_login import current_user

from schoolmgr.account.services import choose_language
from schoolmgr.forms import LanguageForm
from schoolmgr.i18n import LANGUAGE_COOKIE
from schoolmgr.i18n import gettext as _
from schoolmgr.models import utcnow
from schoolmgr.pagecache import cached_for_anonymous
from schoolmgr.public import services
from schoolmgr.public.series import series_page
from schoolmgr.readonly import read_only
from schoolmgr.timeutils import today
from schoolmgr.urls import local_path_or

bp = Blueprint("public", __name__)


@bp.route("/")
@cached_for_anonymous
@read_only
def home():
    """Upcoming and open editions first, past editions after."""
    now = utcnow()
    upcoming, past, past_pager = services.catalogue(now, today(now=now))
    return render_template("public/home.html", upcoming=upcoming, past=past, past_pager=past_pager)


@bp.route("/editions/<slug>")
@cached_for_anonymous
@read_only
def edition(slug: str):
    """An edition: programme, trainers, schedule by day, seats and the visitor's next step."""
    found = services.edition_page(slug)
    if found is None or not services.is_visible_to(found[0], current_user):
        abort(404)
    edition, accepted = found
    programme = services.programme_of(edition.id)
    return render_template(
        "public/edition.html",
        edition=edition,
        modules=programme.modules,
        seats_left=services.seats_left(edition, accepted),
        registration_open=edition.registration_is_open(utcnow()),
        registration=services.registration_of(current_user, edition),
        schedule=services.schedule_by_day(edition, programme.sessions),
    )


@bp.route("/series/<series>")
@read_only
def series(series: str):
    """Every edition of a recurring school, with its year (paginated, newest first)."""
    page = series_page(series, utcnow())
    if page is None:
        abort(404)
    return render_template(
        "public/series.html",
        series=series,
        name=page.name,
        first_year=page.first_year,
        pager=page.pager,
        cards=page.cards,
    )


@bp.route("/modules")
@read_only
def modules():
    """The module catalogue."""
    return render_template("public/modules.html", modules=services.active_modules())


@bp.route("/modules/<slug>")
@read_only
def module(slug: str):
    """A module and the editions that offered it."""
    found = services.module_with_editions(slug)
    if found is None:
        abort(404)
    module, editions = found
    return render_template("public/module.html", module=module, editions=editions)


@bp.post("/language")
def set_language():
    """Answer in the language chosen in the header menu from now on, and go back to the page."""
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400, _("Choose one of the listed languages."))
    tag = choose_language(current_user, form.language.data)
    response = redirect(local_path_or(form.next.data, url_for("public.home")), 303)
    # Anonymous visitors keep their choice in a cookie; signed-in users also in their profile.
    response.set_cookie(
        LANGUAGE_COOKIE,
        tag,
        max_age=365 * 24 * 3600,
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
        samesite="Lax",
    )
    return response
