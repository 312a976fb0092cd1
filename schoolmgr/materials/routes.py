"""Materials: trainers upload, replace and delete; participants see and download."""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user

from schoolmgr.attendance import summaries as attendance
from schoolmgr.attendance.forms import ApologyForm
from schoolmgr.auth.access import role_required
from schoolmgr.errors import back_on_refusal, show_on_form
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.materials import archive, editing, uploads, visibility
from schoolmgr.materials.errors import MaterialError
from schoolmgr.materials.forms import DeleteForm, DetailsForm, MaterialForm, ReplaceForm
from schoolmgr.models import Material, MaterialKind, MaterialVisibility, Role
from schoolmgr.storage import MissingFileError, get_storage
from schoolmgr.trainer.access import managed_edition_module

bp = Blueprint("materials", __name__)


@bp.errorhandler(413)
def too_large(error):
    """The upload was refused before the form could be read: say so in plain words."""
    return (
        render_template(
            "materials/too_large.html",
            max_upload_mb=current_app.config["MAX_UPLOAD_MB"],
            back=request.referrer if request.referrer else url_for("trainer.home"),
        ),
        413,
    )


def _managed_material(material_id: int) -> Material:
    material = db.get_or_404(Material, material_id)
    if material.deleted_at is not None:
        abort(404)
    managed_edition_module(material.edition_module_id)
    return material


@bp.route("/trainer/modules/<int:edition_module_id>/materials", methods=["POST"])
@role_required(Role.TRAINER, Role.STAFF)
def add(edition_module_id: int):
    """Upload a file or add a link to a module."""
    edition_module = managed_edition_module(edition_module_id)
    form = MaterialForm()
    if form.validate_on_submit():
        details = {
            "title": form.title.data,
            "description": form.description.data or "",
            "position": form.position.data,
            "visibility": MaterialVisibility(form.visibility.data),
            "by": current_user,
        }
        try:
            if form.kind.data == "link":
                editing.add_link(edition_module, form.url.data or "", **details)
            else:
                upload = form.file.data
                editing.upload_file(
                    edition_module,
                    upload.stream if upload else None,
                    upload.filename if upload else None,
                    **details,
                )
        except MaterialError as error:
            show_on_form(form, error)
            status = error.status_code
        else:
            flash(_("“%(title)s” was added.", title=form.title.data), "success")
            return redirect(url_for("trainer.module", edition_module_id=edition_module.id))
    else:
        status = 400
    return (
        render_template(
            "materials/add.html",
            em=edition_module,
            form=form,
            max_upload_mb=current_app.config["MAX_UPLOAD_MB"],
            accepted=uploads.accepted_extensions(),
        ),
        status,
    )


@bp.route("/trainer/materials/<int:material_id>", methods=["GET", "POST"])
@role_required(Role.TRAINER, Role.STAFF)
def manage(material_id: int):
    """A material's details, its versions, and forms to edit or replace it."""
    material = _managed_material(material_id)
    form = DetailsForm(obj=material if request.method == "GET" else None)
    if request.method == "GET":
        form.visibility.data = material.visibility.value
    status = 200
    if form.validate_on_submit():
        try:
            editing.update_details(
                material,
                title=form.title.data,
                description=form.description.data or "",
                position=form.position.data,
                visibility=MaterialVisibility(form.visibility.data),
                by=current_user,
            )
        except MaterialError as error:
            show_on_form(form, error)
            status = error.status_code
        else:
            flash(_("The material was updated."), "success")
            return redirect(url_for(".manage", material_id=material.id))
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "materials/manage.html",
            material=material,
            em=material.edition_module,
            form=form,
            replace_form=ReplaceForm(),
            versions=editing.versions(material),
            max_upload_mb=current_app.config["MAX_UPLOAD_MB"],
        ),
        status,
    )


def _manage_url(material_id: int) -> str:
    return url_for(".manage", material_id=material_id)


@bp.route("/trainer/materials/<int:material_id>/replace", methods=["POST"])
@role_required(Role.TRAINER, Role.STAFF)
@back_on_refusal(_manage_url)
def replace(material_id: int):
    """Upload a new version (or a new address) for a material."""
    material = _managed_material(material_id)
    form = ReplaceForm()
    if not form.validate_on_submit():
        abort(400)
    if material.kind == MaterialKind.LINK:
        newer = editing.replace_material(material, by=current_user, url=form.url.data)
    else:
        upload = form.file.data
        newer = editing.replace_material(
            material,
            by=current_user,
            stream=upload.stream if upload else None,
            filename=upload.filename if upload else None,
        )
    flash(_("Version %(n)d is now the current one.", n=newer.version), "success")
    return redirect(url_for(".manage", material_id=newer.id))


@bp.route("/trainer/materials/<int:material_id>/delete", methods=["GET", "POST"])
@role_required(Role.TRAINER, Role.STAFF)
@back_on_refusal(_manage_url)
def delete(material_id: int):
    """Ask for confirmation, then delete a material with all its versions."""
    material = _managed_material(material_id)
    form = DeleteForm()
    if form.validate_on_submit():
        editing.delete_material(material, by=current_user, reason=form.reason.data or "")
        flash(_("“%(title)s” was deleted.", title=material.title), "success")
        return redirect(url_for("trainer.module", edition_module_id=material.edition_module_id))
    return render_template(
        "materials/delete.html", material=material, em=material.edition_module, form=form
    )


@bp.route("/materials/<int:material_id>/download")
def download(material_id: int):
    """Send a material's file to someone allowed to see it (links redirect)."""
    material = db.get_or_404(Material, material_id)
    if not visibility.may_view(current_user, material):
        if material.deleted_at:
            abort(404)
        return _refuse()
    if material.kind == MaterialKind.LINK:
        return redirect(material.url)
    return _send_stored(material)


def _refuse():
    """Participants-only: anonymous visitors are sent to sign in (and back), others get 403."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    abort(403)


def _send_stored(material: Material):
    try:
        response = get_storage().send(
            uploads.storage_key(material),
            mimetype=material.media_type,
            download_name=material.original_name,
            as_attachment=True,
        )
    except MissingFileError:
        abort(404)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/editions/<slug>/modules/<module_slug>")
def module_page(slug: str, module_slug: str):
    """A module within an edition, as participants see it: sessions and materials."""
    edition_module = visibility.edition_module_by_slugs(slug, module_slug)
    if edition_module is None:
        abort(404)
    materials = visibility.visible_materials(current_user, edition_module)
    participant = visibility.participates_in(current_user, edition_module)
    marks = attendance.my_marks(current_user, edition_module) if participant else {}
    return render_template(
        "materials/module_page.html",
        em=edition_module,
        edition=edition_module.edition,
        materials=materials,
        participant=participant,
        marks=marks,
        apology_forms={s.id: ApologyForm(prefix=f"s{s.id}") for s in edition_module.sessions},
        has_files=any(m.kind == MaterialKind.FILE for m in materials),
    )


@bp.route("/editions/<slug>/modules/<module_slug>/materials.zip")
def module_zip(slug: str, module_slug: str):
    """All materials of the module the user may see, as one ZIP."""
    edition_module = visibility.edition_module_by_slugs(slug, module_slug)
    if edition_module is None:
        abort(404)
    materials = visibility.visible_materials(current_user, edition_module)
    if not materials:
        if not visibility.current_materials(edition_module):
            abort(404)
        return _refuse()
    response = send_file(
        archive.build_zip(materials),
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"{edition_module.edition.slug}-{edition_module.module.slug}.zip",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
