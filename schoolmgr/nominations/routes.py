"""National coordinators' pages: editions that require a nomination, and their country's people."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from schoolmgr.auth.access import role_required
from schoolmgr.errors import back_on_refusal
from schoolmgr.i18n import gettext as _
from schoolmgr.models import Country, Role
from schoolmgr.nominations import services
from schoolmgr.nominations.forms import nomination_form

bp = Blueprint("nominations", __name__, url_prefix="/coordinator")


@bp.route("/")
@role_required(Role.COORDINATOR)
def home():
    """Editions that require a nomination, with my country's numbers."""
    return render_template(
        "nominations/home.html",
        rows=services.editions_for(current_user),
        country=current_user.coordinator_country,
        Country=Country,
    )


def _edition_page(edition, forms=None, status: int = 200):
    registrations = services.country_registrations(current_user, edition)
    forms = forms or {}
    return render_template(
        "nominations/edition.html",
        edition=edition,
        country=current_user.coordinator_country,
        rows=[(r, forms.get(r.id) or nomination_form(r)) for r in registrations],
    ), status


@bp.route("/editions/<slug>")
@role_required(Role.COORDINATOR)
def edition(slug: str):
    """My country's registrations for an edition: rank, nominate or decline each."""
    return _edition_page(services.edition_for(current_user, slug))


def _edition_url_of(registration_id: int) -> str:
    registration = services.registration_for(current_user, registration_id)
    return url_for("nominations.edition", slug=registration.edition.slug)


@bp.route("/registrations/<int:registration_id>", methods=["POST"])
@role_required(Role.COORDINATOR)
@back_on_refusal(_edition_url_of)
def nominate(registration_id: int):
    """Nominate one registration of my country, or decline to, with a rank and a note."""
    registration = services.registration_for(current_user, registration_id)
    form = nomination_form(registration, formdata=True)
    if not form.validate_on_submit():
        return _edition_page(registration.edition, {registration.id: form}, 400)
    services.nominate(
        current_user,
        registration,
        form.decision.data,
        rank=form.rank.data,
        note=form.note.data or "",
    )
    flash(
        _("%(name)s is nominated.", name=registration.user.full_name)
        if registration.nomination.value == "nominated"
        else _("%(name)s is not nominated.", name=registration.user.full_name),
        "success",
    )
    return redirect(
        url_for("nominations.edition", slug=registration.edition.slug)
        + f"#registration-{registration.id}"
    ), 303
