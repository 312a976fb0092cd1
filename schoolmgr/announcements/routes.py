"""Announcements and invitation letters: staff pages, the participant's letter, verification."""

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from schoolmgr.announcements import jobs, letters, services
from schoolmgr.announcements.forms import AnnouncementForm, LetterSettingsForm, new_key
from schoolmgr.announcements.services import AnnouncementError, Audience
from schoolmgr.auth.access import role_required
from schoolmgr.editions import staff_edition_or_404
from schoolmgr.errors import back_on_refusal, show_on_form
from schoolmgr.extensions import limiter
from schoolmgr.i18n import fmt_count
from schoolmgr.i18n import gettext as _
from schoolmgr.models import AnnouncementStatus, Role
from schoolmgr.pagination import paginate

bp = Blueprint("announcements", __name__)
staff = role_required(Role.STAFF)
PREFIX = "/staff/editions/<slug>"


def _edition_or_404(slug: str):
    return staff_edition_or_404(slug)


def _announcement_or_404(edition, announcement_id: int):
    return services.get_announcement(edition, announcement_id)


def _letters_url(slug: str) -> str:
    return url_for(".letters_page", slug=slug)


@bp.route(PREFIX + "/announcements")
@staff
def staff_list(slug: str):
    """Every announcement of the edition: date, sender, audience, count."""
    edition = _edition_or_404(slug)
    pager = paginate(services.edition_announcements(edition))
    return render_template(
        "announcements/list.html",
        edition=edition,
        pager=pager,
        describe=services.describe_audience,
    )


def _audience(form: AnnouncementForm) -> Audience:
    module = form.module.data or ""
    return Audience(
        statuses=list(form.statuses.data or []),
        module_id=int(module) if module.isascii() and module.isdigit() else None,
        country=form.country.data or "",
        attended=form.attended.data or "",
    )


def _material_ids(form: AnnouncementForm) -> list[int]:
    return [int(v) for v in form.materials.data or [] if v.isascii() and v.isdigit()]


COMPOSE_FIELDS = {"unknown_placeholder": "body", "bad_material": "materials"}


@bp.route(PREFIX + "/announcements/new", methods=["GET", "POST"])
@staff
def compose(slug: str):
    """Write an announcement, preview it for one recipient with the count, then send it."""
    edition = _edition_or_404(slug)
    form = AnnouncementForm()
    materials = services.attachable_materials(edition)
    form.set_choices(edition, materials)
    status, result = 200, None
    if form.is_submitted():
        status = 400
        if form.validate():
            registration_id = form.preview_for.data or ""
            try:
                if request.form.get("action") == "send":
                    announcement, created = services.send(
                        edition,
                        current_user._get_current_object(),
                        subject=form.subject.data,
                        body=form.body.data,
                        audience=_audience(form),
                        material_ids=_material_ids(form),
                        idempotency_key=form.idempotency_key.data,
                        expected_count=int(form.expected_count.data)
                        if form.expected_count.data
                        else None,
                    )
                    return _after_send(edition, announcement, created)
                result = services.preview(
                    edition,
                    form.subject.data,
                    form.body.data,
                    _audience(form),
                    int(registration_id) if registration_id.isdigit() else None,
                )
                status = 200
            except AnnouncementError as err:
                show_on_form(form, err, COMPOSE_FIELDS)
                status = err.status_code
    if result is not None:
        form.preview_for.choices = [
            (str(r.id), f"{r.user.full_name} ({r.status.label})") for r in result.registrations
        ]
        form.preview_for.data = str(result.chosen.id) if result.chosen else ""
        form.expected_count.data = str(result.count)
    if not form.idempotency_key.data:
        form.idempotency_key.data = new_key()
    return render_template(
        "announcements/compose.html", edition=edition, form=form, result=result
    ), status


def _after_send(edition, announcement, created: bool):
    if not created:
        flash(_("This announcement was already sent; it was not sent again."), "info")
    elif announcement.status == AnnouncementStatus.QUEUED:
        try:
            jobs.enqueue(announcement.id)
        except Exception:  # no worker reachable: send it now rather than leave it waiting
            jobs.run(announcement.id)
        flash(_("Sending the announcement in the background."), "success")
    else:
        flash(
            _(
                "Announcement sent to %(n)d people.",
                n=announcement.recipient_count,
            ),
            "success",
        )
    return redirect(
        url_for(".detail", slug=edition.slug, announcement_id=announcement.id), code=303
    )


@bp.route(PREFIX + "/announcements/<int:announcement_id>")
@staff
def detail(slug: str, announcement_id: int):
    """One announcement: what was sent, to whom, and each email's delivery status."""
    edition = _edition_or_404(slug)
    announcement = _announcement_or_404(edition, announcement_id)
    return render_template(
        "announcements/detail.html",
        edition=edition,
        announcement=announcement,
        audience=services.describe_audience(edition, announcement.filters),
        counts=services.delivery_counts(announcement),
        pager=paginate(services.recipients_query(announcement)),
    )


@bp.route(PREFIX + "/announcements/<int:announcement_id>.json")
@staff
def progress(slug: str, announcement_id: int):
    """Progress of a background send, for the detail page's script."""
    edition = _edition_or_404(slug)
    announcement = _announcement_or_404(edition, announcement_id)
    return jsonify(
        status=announcement.status.value,
        label=announcement.status.label,
        total=announcement.recipient_count,
        done=announcement.queued_count,
        percent=announcement.percent,
        running=announcement.is_running,
        shown={  # the counts as the page writes them, for its script
            "done": fmt_count(announcement.queued_count),
            "total": fmt_count(announcement.recipient_count),
        },
    )


# --- invitation letters ---------------------------------------------------------------------


@bp.route(PREFIX + "/letters", methods=["GET", "POST"])
@staff
def letters_page(slug: str):
    """Invitation letters: the per-edition text, one PDF per accepted participant, the ZIP."""
    edition = _edition_or_404(slug)
    form = LetterSettingsForm(obj=edition)
    status = 200
    if form.is_submitted():
        status = 400
        if form.validate():
            try:
                letters.save_settings(
                    edition, letter_covers=form.letter_covers.data, map_url=form.map_url.data
                )
            except AnnouncementError as err:
                show_on_form(form, err, default="map_url")
            else:
                flash(_("Letter settings saved."), "success")
                return redirect(url_for(".letters_page", slug=edition.slug), code=303)
    return render_template(
        "announcements/letters.html",
        edition=edition,
        form=form,
        in_person=letters.letters_apply(edition),
        pager=paginate(letters.accepted_query(edition)),
    ), status


def _pdf(content: bytes, name: str):
    import io

    return send_file(
        io.BytesIO(content), mimetype="application/pdf", as_attachment=True, download_name=name
    )


@bp.route(PREFIX + "/letters.zip")
@staff
@back_on_refusal(_letters_url)
def letters_zip(slug: str):
    """Every accepted participant's invitation letter, in one ZIP."""
    edition = _edition_or_404(slug)
    archive = letters.build_zip(edition)
    return send_file(
        archive,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"invitation-letters-{edition.slug}.zip",
    )


@bp.route(PREFIX + "/letters/<int:registration_id>.pdf")
@staff
def staff_letter(slug: str, registration_id: int):
    """One participant's invitation letter."""
    edition = _edition_or_404(slug)
    registration = letters.registration_of(edition, registration_id)
    content, name = letters.letter_pdf(registration)
    return _pdf(content, name)


@bp.route("/me/letters/<int:registration_id>.pdf")
@login_required
def my_letter(registration_id: int):
    """My invitation letter for an in-person edition I was accepted to."""
    registration = letters.own_registration(current_user, registration_id)
    content, name = letters.letter_pdf(registration)
    return _pdf(content, name)


@bp.route("/letters/verify/<code>")
@limiter.limit("30 per minute")
def verify_letter(code: str):
    """Anyone (an institution's HR office) checks an invitation letter by its code."""
    letter = letters.letter_for_code(code)
    return render_template("announcements/verify_letter.html", letter=letter, code=code[:40]), (
        200 if letter else 404
    )
