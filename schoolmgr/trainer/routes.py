"""The trainer workspace: home and one module's page (sessions, materials, attendance)."""

from flask import Blueprint, render_template
from flask_login import current_user

from schoolmgr.attendance import summaries as attendance
from schoolmgr.auth.access import role_required
from schoolmgr.materials import uploads, visibility
from schoolmgr.materials.forms import MaterialForm
from schoolmgr.models import Role, utcnow
from schoolmgr.pagination import paginate
from schoolmgr.trainer import services
from schoolmgr.trainer.access import managed_edition_module

bp = Blueprint("trainer", __name__, url_prefix="/trainer")


@bp.route("/")
@role_required(Role.TRAINER, Role.STAFF)
def home():
    """The modules the user manages and their upcoming sessions."""
    pager = paginate(services.modules_query(current_user))
    return render_template(
        "trainer/home.html",
        pager=pager,
        upcoming=services.upcoming_sessions(current_user, utcnow()),
    )


@bp.route("/modules/<int:edition_module_id>")
@role_required(Role.TRAINER, Role.STAFF)
def module(edition_module_id: int):
    """One module of an edition: sessions, materials, attendance summary."""
    edition_module = managed_edition_module(edition_module_id)
    sessions = edition_module.sessions
    rate = attendance.module_rate(edition_module)
    return render_template(
        "trainer/module.html",
        em=edition_module,
        edition=edition_module.edition,
        sessions=sessions,
        counts=services.mark_counts([s.id for s in sessions]),
        participants=rate.participants,
        rate=rate,
        materials=visibility.current_materials(edition_module),
        form=MaterialForm(),
        max_upload_mb=uploads.max_upload_bytes() // (1024 * 1024),
        accepted=uploads.accepted_extensions(),
    )
