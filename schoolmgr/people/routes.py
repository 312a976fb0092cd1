"""Staff pages to find people and manage their role and account."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from schoolmgr.auth.access import role_required
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import AuditEvent, Country, Role, User
from schoolmgr.pagination import paginate
from schoolmgr.people import services
from schoolmgr.people.forms import ActiveForm, ReportAnswersForm, RoleForm, UserFilterForm

bp = Blueprint("people", __name__, url_prefix="/staff/people")


@bp.route("/")
@role_required(Role.STAFF)
def users():
    """Search and filter every account."""
    form = UserFilterForm(request.args)
    valid = form.validate()
    q = (form.q.data or "").strip() if valid else ""
    role = (form.role.data or None) if valid else None
    active = (form.active.data or None) if valid else None
    pager = paginate(services.users_query(q, role, active))
    show_note = any(u.country == Country.KOSOVO for u in pager.items)
    return render_template(
        "people/users.html",
        form=form,
        pager=pager,
        q=q,
        role=role,
        active=active,
        show_note=show_note,
    )


def _user_page(
    user: User,
    role_form: RoleForm | None = None,
    status: int = 200,
    answers_form: ReportAnswersForm | None = None,
):
    role_form = role_form or RoleForm(
        formdata=None,
        role=user.role.value,
        coordinator_country=getattr(user.coordinator_country, "value", ""),
    )
    answers_form = answers_form or ReportAnswersForm(
        formdata=None,
        gender=user.gender.value if user.gender else "",
        institution_type=user.institution_type.value if user.institution_type else "",
    )
    allowed = services.allowed_roles(current_user, user)
    role_form.role.choices = [(r.value, r.label) for r in allowed] or [
        (user.role.value, user.role.label)
    ]
    history = db.session.scalars(
        db.select(AuditEvent)
        .where(AuditEvent.target_type == "user", AuditEvent.target_id == user.id)
        .order_by(AuditEvent.id.desc())
        .limit(20)
    ).all()
    return render_template(
        "people/user.html",
        user=user,
        role_form=role_form,
        active_form=ActiveForm(formdata=None),
        answers_form=answers_form,
        can_change=bool(allowed) and user.id != current_user.id,
        history=history,
    ), status


@bp.route("/<int:user_id>")
@role_required(Role.STAFF)
def user(user_id: int):
    """One account: details, role, status and the history of changes."""
    return _user_page(db.get_or_404(User, user_id))


@bp.route("/<int:user_id>/role", methods=["POST"])
@role_required(Role.STAFF)
def change_role(user_id: int):
    """Give someone another role."""
    user = db.get_or_404(User, user_id)
    form = RoleForm()
    form.role.choices = [(r.value, r.label) for r in Role]
    if not form.validate_on_submit():
        return _user_page(user, form, 400)
    try:
        services.change_role(
            current_user,
            user,
            Role(form.role.data),
            form.reason.data or "",
            coordinator_country=form.coordinator_country.data or None,
        )
    except services.PeopleError as err:
        flash(err.message, "danger")
        return _user_page(user, form, err.status_code)
    flash(_("%(name)s is now: %(role)s.", name=user.full_name, role=user.role.label), "success")
    return redirect(url_for("people.user", user_id=user.id))


@bp.route("/<int:user_id>/active", methods=["POST"])
@role_required(Role.STAFF)
def set_active(user_id: int):
    """Deactivate or reactivate an account."""
    user = db.get_or_404(User, user_id)
    form = ActiveForm()
    active = request.form.get("active") == "1"
    if not form.validate_on_submit():
        return _user_page(user, status=400)
    try:
        services.set_active(current_user, user, active, form.reason.data or "")
    except services.PeopleError as err:
        flash(err.message, "danger")
        return _user_page(user, status=err.status_code)
    flash(
        _("%(name)s can sign in again.", name=user.full_name)
        if active
        else _("%(name)s is deactivated and signed out.", name=user.full_name),
        "success",
    )
    return redirect(url_for("people.user", user_id=user.id))


@bp.route("/<int:user_id>/report-answers", methods=["POST"])
@role_required(Role.STAFF)
def set_report_answers(user_id: int):
    """Record someone's optional gender and institution type."""
    user = db.get_or_404(User, user_id)
    form = ReportAnswersForm()
    if not form.validate_on_submit():
        return _user_page(user, status=400, answers_form=form)
    try:
        services.set_report_answers(
            current_user, user, form.gender.data or None, form.institution_type.data or None
        )
    except services.PeopleError as err:
        flash(err.message, "danger" if err.code != "no_change" else "info")
        return _user_page(user, status=err.status_code, answers_form=form)
    flash(_("The reporting details of %(name)s are saved.", name=user.full_name), "success")
    return redirect(url_for("people.user", user_id=user.id))
