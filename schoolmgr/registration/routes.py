"""Registration pages: applying, the participant dashboard and schedule, and the staff side."""

from datetime import time

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from schoolmgr.announcements.services import for_participant as announcements_for
from schoolmgr.auth.access import role_required
from schoolmgr.editions import staff_edition_or_404
from schoolmgr.errors import back_on_refusal, show_on_form
from schoolmgr.i18n import gettext as _
from schoolmgr.i18n import ngettext
from schoolmgr.models import Country, Role, utcnow
from schoolmgr.public import services as public_services
from schoolmgr.readonly import read_only
from schoolmgr.registration import calendars, country_seats, exports, registering, review
from schoolmgr.registration.errors import RegistrationError
from schoolmgr.registration.forms import (
    BulkActionForm,
    CalendarResetForm,
    CancelForm,
    CapacityForm,
    CountrySeatsForm,
    FilterForm,
    RegistrationForm,
    ReleaseSeatsForm,
)
from schoolmgr.timeutils import to_utc
from schoolmgr.urls import site_url

bp = Blueprint("registration", __name__)

STAFF_PREFIX = "/staff/editions/<slug>/registrations"


# --- participant side -----------------------------------------------------------------------


def _edition_or_404(slug: str):
    edition = public_services.edition_with_modules(slug)
    if edition is None or not public_services.is_visible_to(edition, current_user):
        abort(404)
    return edition


def _promoted_note(promoted: int) -> str:
    """The sentence added to a flash message when freed seats promoted people ("" for none)."""
    if not promoted:
        return ""
    return " " + ngettext(
        "%(num)d person promoted from the waiting list.",
        "%(num)d people promoted from the waiting list.",
        promoted,
    )


REGISTER_FIELDS = {
    "consent_required": "consent",
    "module_required": "modules",
    "unknown_module": "modules",
}


@bp.route("/editions/<slug>/register", methods=["GET", "POST"])
@login_required
def register(slug: str):
    """Register for an edition; someone already registered sees their registration."""
    edition = _edition_or_404(slug)
    existing = registering.registration_of(current_user, edition)
    if existing is not None and request.method == "GET":
        return render_template("registration/existing.html", edition=edition, registration=existing)
    try:
        registering.check_can_register(edition, utcnow())
    except RegistrationError as err:
        return render_template(
            "registration/unavailable.html", edition=edition, message=err.message
        ), err.status_code

    form = RegistrationForm(obj=current_user if request.method == "GET" else None)
    if request.method == "GET":
        form.country.data = current_user.country.value if current_user.country else ""
        form.gender.data = current_user.gender.value if current_user.gender else ""
        form.institution_type.data = (
            current_user.institution_type.value if current_user.institution_type else ""
        )
    form.modules.choices = [
        (em.id, em.module.name + (f" ({_('mandatory')})" if em.mandatory else ""))
        for em in edition.edition_modules
    ]
    if form.validate_on_submit():
        title = edition.title  # read before the commit expires the edition
        try:
            registration = registering.register(
                current_user,
                edition,
                consent=form.consent.data,
                country=form.country.data,
                institution=form.institution.data,
                position=form.position.data,
                gender=form.gender.data or None,
                institution_type=form.institution_type.data or None,
                module_ids=form.modules.data or [],
                motivation=form.motivation.data or "",
                needs=form.needs.data or "",
            )
        except RegistrationError as err:
            if err.code == "already_registered":
                flash(err.message, "info")
                return render_template(
                    "registration/existing.html",
                    edition=edition,
                    registration=registering.registration_of(current_user, edition),
                ), err.status_code
            show_on_form(form, err, REGISTER_FIELDS)
            return render_template(
                "registration/register.html", edition=edition, form=form
            ), err.status_code
        # Only a confirmed seat is a success; a waiting list or a pending decision is news.
        flash(
            _status_message(registration, title),
            "success" if registration.status.value == "accepted" else "info",
        )
        return redirect(url_for("registration.dashboard"))
    status = 400 if form.is_submitted() else 200
    return render_template("registration/register.html", edition=edition, form=form), status


def _status_message(registration, title: str) -> str:
    if registration.status.value == "accepted":
        return _("You are registered for %(t)s: your seat is confirmed.", t=title)
    if registration.status.value == "waitlisted":
        return _(
            "%(t)s is full: you are number %(n)d on the waiting list. "
            "We will email you when a seat frees up.",
            t=title,
            n=registration.waitlist_position,
        )
    return _("Your registration for %(t)s was received; the programme staff will decide.", t=title)


@bp.route("/me/registrations")
@login_required
def dashboard():
    """My registrations: status, waiting-list position, chosen modules."""
    return render_template(
        "registration/dashboard.html",
        registrations=registering.my_registrations(current_user),
        announcements_by_edition=announcements_for(current_user),
        cancel_form=CancelForm(),
        now=utcnow(),
    )


def _dashboard_url(**_args) -> str:
    return url_for("registration.dashboard")


@bp.route("/me/registrations/<int:registration_id>/cancel", methods=["POST"])
@login_required
@back_on_refusal(_dashboard_url)
def cancel(registration_id: int):
    """Cancel one of my registrations."""
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    registration = registering.own_registration(current_user, registration_id)
    registering.cancel(registration, current_user)
    flash(_("Your registration is cancelled."), "success")
    return redirect(url_for("registration.dashboard")), 303


@bp.route("/me/schedule")
@login_required
def schedule():
    """My schedule: the sessions of my accepted registrations, in time order."""
    upcoming, past = calendars.upcoming_and_past(calendars.my_schedule(current_user), utcnow())
    # BASE_URL, not the request's host: the address is copied into calendar apps for good.
    feed_url = site_url("registration.calendar_feed", token=current_user.calendar_token)
    return render_template(
        "registration/schedule.html",
        upcoming=upcoming,
        past=past,
        feed_url=feed_url,
        reset_form=CalendarResetForm(),
    )


@bp.route("/me/schedule/calendar-address", methods=["POST"])
@login_required
def reset_calendar_address():
    """A new private calendar address, when the old one was shared by mistake."""
    if not CalendarResetForm().validate_on_submit():
        abort(400)
    calendars.reset_calendar_token(current_user)
    flash(
        _(
            "Your calendar address has changed and the old one no longer works. Subscribe again "
            "in your calendar app with the new address."
        ),
        "success",
    )
    return redirect(url_for("registration.schedule")), 303


def _ics_response(body: bytes, filename: str | None) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/me/schedule.ics")
@login_required
def schedule_ics():
    """Download my schedule as an iCalendar file."""
    return _ics_response(calendars.schedule_ics(current_user), "my-schedule.ics")


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str):
    """The per-user calendar feed, for calendar apps that subscribe by URL (no sign-in)."""
    user = calendars.user_for_calendar_token(token)
    if user is None:
        abort(404)
    return _ics_response(calendars.schedule_ics(user), None)


# --- staff side -----------------------------------------------------------------------------


def _staff_edition(slug: str):
    return staff_edition_or_404(slug)


def _bulk_back(slug: str) -> str:
    """The filtered page of the list the bulk form was sent from (never another page)."""
    back = request.form.get("next", "")
    list_url = url_for("registration.staff_list", slug=slug)
    if not back.startswith(list_url) or back.startswith("//"):
        back = list_url
    return back


def _seats_url(slug: str) -> str:
    return url_for("registration.staff_seats", slug=slug)


def _filters_from(form: FilterForm) -> review.RegistrationFilters:
    module = form.module.data or ""
    return review.RegistrationFilters(
        status=form.status.data or "",
        country=form.country.data or "",
        module_id=int(module) if str(module).isdigit() else None,
        q=(form.q.data or "")[:200],
    )


@bp.route(STAFF_PREFIX)
@read_only
@role_required(Role.STAFF)
def staff_list(slug: str):
    """Registrations of an edition: counts per status, filters, search, bulk actions."""
    edition = _staff_edition(slug)
    filters_form = FilterForm(request.args)
    filters_form.module.choices = [("", _("All modules"))] + [
        (str(em.id), em.module.name) for em in edition.edition_modules
    ]
    filters = _filters_from(filters_form)
    pager = review.registrations_page(edition, filters)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    bulk_form = BulkActionForm(next=request.full_path)
    return render_template(
        "registration/staff_list.html",
        edition=edition,
        pager=pager,
        counts=review.status_counts(edition),
        filters_form=filters_form,
        bulk_form=bulk_form,
        filter_args=args,
        show_kosovo_note=any(r.country == Country.KOSOVO for r in pager.items),
    )


@bp.route(STAFF_PREFIX + "/bulk", methods=["POST"])
@role_required(Role.STAFF)
@back_on_refusal(_bulk_back)
def staff_bulk(slug: str):
    """Accept, reject, waitlist or cancel the selected registrations."""
    edition = _staff_edition(slug)
    form = BulkActionForm()
    back = _bulk_back(edition.slug)
    if not form.validate_on_submit():
        flash(_("Choose an action and at least one registration."), "danger")
        return redirect(back), 303
    result = review.bulk_decide(
        edition, form.ids.data or [], form.action.data, current_user, form.reason.data or ""
    )
    message = ngettext(
        "%(num)d registration updated.", "%(num)d registrations updated.", result["changed"]
    )
    flash(message + _promoted_note(result["promoted"]), "success")
    return redirect(back), 303


@bp.route(STAFF_PREFIX + "/capacity", methods=["GET", "POST"])
@role_required(Role.STAFF)
def staff_capacity(slug: str):
    """Edit the capacity of an edition; raising it promotes from the waiting list."""
    edition = _staff_edition(slug)
    form = CapacityForm(capacity=edition.capacity)
    status = 200
    if form.validate_on_submit():
        try:
            promoted = review.set_capacity(edition, form.capacity.data, current_user)
        except RegistrationError as err:
            show_on_form(form, err, default="capacity")
            status = err.status_code
        else:
            flash(
                _("Capacity set to %(n)d.", n=form.capacity.data) + _promoted_note(len(promoted)),
                "success",
            )
            return redirect(url_for("registration.staff_list", slug=edition.slug)), 303
    elif form.is_submitted():
        status = 400
    return render_template(
        "registration/staff_capacity.html",
        edition=edition,
        form=form,
        counts=review.status_counts(edition),
    ), status


def _seats_form(edition) -> CountrySeatsForm:
    form = CountrySeatsForm(nomination_required=edition.nomination_required)
    if not form.is_submitted():
        quotas = {q.country: q.seats for q in edition.seat_quotas}
        for country in quotas:
            getattr(form, form.quota_name(country)).data = quotas[country]
        if edition.quota_release_at:
            local = edition.quota_release_at.astimezone(edition.tz)
            form.release_date.data, form.release_time.data = local.date(), local.time()
    return form


@bp.route(STAFF_PREFIX + "/seats", methods=["GET", "POST"])
@role_required(Role.STAFF)
def staff_seats(slug: str):
    """Seats per country, their release date, and whether nominations are required."""
    edition = _staff_edition(slug)
    form = _seats_form(edition)
    status = 200
    if form.validate_on_submit():
        release_at = None
        if form.release_date.data:
            release_at = to_utc(
                form.release_date.data, form.release_time.data or time(0), edition.tz
            )
        try:
            promoted = country_seats.set_country_seats(
                edition, form.quotas(), release_at, form.nomination_required.data, current_user
            )
        except RegistrationError as err:
            show_on_form(form, err)
            status = err.status_code
        else:
            flash(
                _("Country seats saved.") + _promoted_note(len(promoted)),
                "success",
            )
            return redirect(url_for("registration.staff_seats", slug=edition.slug)), 303
    elif form.is_submitted():
        status = 400
    return render_template(
        "registration/staff_seats.html",
        edition=edition,
        form=form,
        release_form=ReleaseSeatsForm(),
        rows=country_seats.country_seats(edition),
        now=utcnow(),
    ), status


@bp.route(STAFF_PREFIX + "/seats/release", methods=["POST"])
@role_required(Role.STAFF)
@back_on_refusal(_seats_url)
def staff_release_seats(slug: str):
    """Release the unused country seats to everyone now."""
    edition = _staff_edition(slug)
    if not ReleaseSeatsForm().validate_on_submit():
        abort(400)
    promoted = country_seats.release_country_seats(edition, current_user)
    flash(
        _("Unused country seats are released to everyone.") + _promoted_note(len(promoted)),
        "success",
    )
    return redirect(url_for("registration.staff_seats", slug=edition.slug)), 303


@bp.route(STAFF_PREFIX + "/export.csv")
@role_required(Role.STAFF)
def staff_export_csv(slug: str):
    """Registrants as CSV (UTF-8)."""
    edition = _staff_edition(slug)
    response = Response(exports.export_csv(edition), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{exports.export_filename(edition, "csv")}"'
    )
    return response


@bp.route(STAFF_PREFIX + "/export.xlsx")
@role_required(Role.STAFF)
def staff_export_xlsx(slug: str):
    """Registrants as an Excel workbook."""
    edition = _staff_edition(slug)
    response = Response(
        exports.export_xlsx(edition),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{exports.export_filename(edition, "xlsx")}"'
    )
    return response


@bp.route(STAFF_PREFIX + "/overview")
@role_required(Role.STAFF)
def staff_overview(slug: str):
    """Numbers by status, country, institution and module, as tables and bars."""
    edition = _staff_edition(slug)
    return render_template(
        "registration/staff_overview.html", edition=edition, data=review.overview(edition)
    )
