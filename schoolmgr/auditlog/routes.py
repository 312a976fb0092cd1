"""Staff audit log: who did what, when and why. Read-only."""

from flask import Blueprint, current_app, render_template, request

from schoolmgr.auditlog import services
from schoolmgr.auditlog.forms import AuditFilterForm
from schoolmgr.auth.access import role_required
from schoolmgr.i18n import gettext as _
from schoolmgr.models import Role
from schoolmgr.pagination import paginate

bp = Blueprint("audit", __name__)


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@bp.route("/staff/audit")
@role_required(Role.STAFF)
def events():
    """Audit events, newest first, filtered by action, actor, edition and date range."""
    form = AuditFilterForm(request.args)
    form.action.choices = [("", _("All actions"))] + [(a, a) for a in services.action_choices()]
    form.actor.choices = [("", _("Anyone"))] + [
        (str(i), name) for i, name in services.actor_choices()
    ]
    form.edition.choices = [("", _("All editions"))] + [
        (str(i), title) for i, title in services.edition_choices()
    ]
    valid = form.validate()
    audit_filter = services.AuditFilter(
        action=form.action.data or "",
        actor_id=_int_or_none(form.actor.data),
        edition_id=_int_or_none(form.edition.data),
        date_from=form.date_from.data if valid else None,
        date_to=form.date_to.data if valid else None,
        tz=current_app.config["DEFAULT_TIMEZONE"],
    )
    pager = paginate(services.events(audit_filter))
    editions = services.editions_by_id({e.edition_id for e in pager.items if e.edition_id})
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "audit/events.html", form=form, pager=pager, editions=editions, filter_args=args
    ), (200 if valid else 400)
