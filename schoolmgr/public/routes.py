"""Public pages: home, edition page, module catalogue."""

from flask import Blueprint, abort, render_template
from flask_login import current_user

from schoolmgr.models import utcnow
from schoolmgr.pagecache import cached_for_anonymous
from schoolmgr.public import services
from schoolmgr.public.series import series_page

bp = Blueprint("public", __name__)


@bp.route("/")
@cached_for_anonymous
def home():
    """Upcoming and open editions first, past editions after."""
    now = utcnow()
    upcoming, past, past_pager = services.catalogue(now, now.date())
    return render_template("public/home.html", upcoming=upcoming, past=past, past_pager=past_pager)


@bp.route("/editions/<slug>")
@cached_for_anonymous
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
def modules():
    """The module catalogue."""
    return render_template("public/modules.html", modules=services.active_modules())


@bp.route("/modules/<slug>")
def module(slug: str):
    """A module and the editions that offered it."""
    found = services.module_with_editions(slug)
    if found is None:
        abort(404)
    module, editions = found
    return render_template("public/module.html", module=module, editions=editions)
