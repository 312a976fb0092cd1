"""Staff pages for editions, the module catalogue, trainers and the schedule.

Above 500 lines because it is one blueprint of about thirty thin pages (each parses a form and
calls one service of editions, catalogue, trainers or sessions); the rules live in those.
"""

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for

from schoolmgr.auth.access import role_required
from schoolmgr.auth.sessions import sign_in
from schoolmgr.editions import staff_edition_or_404
from schoolmgr.errors import show_on_form
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import Edition, EditionModule, Module, Role, Session
from schoolmgr.pagination import paginate
from schoolmgr.programme import catalogue, forms, sessions

# Aliased: the pages `editions` and `trainers` have these names.
from schoolmgr.programme import editions as edition_services
from schoolmgr.programme import trainers as trainer_services
from schoolmgr.programme.errors import ProgrammeError
from schoolmgr.registration.seats import accepted_count

bp = Blueprint("programme", __name__, url_prefix="/staff")
staff = role_required(Role.STAFF)


def _edition_or_404(slug: str) -> Edition:
    return staff_edition_or_404(slug, with_programme=True)


def _back_to(edition: Edition, anchor: str = ""):
    return redirect(url_for("programme.edition", slug=edition.slug) + anchor)


# --- editions -----------------------------------------------------------------------------


@bp.route("/editions")
@staff
def editions():
    """All editions, newest first, filterable by status."""
    form = forms.EditionFilterForm(request.args)
    valid = form.validate()
    status = (form.status.data or None) if valid else None
    q = (form.q.data or "").strip() if valid else ""
    pager = paginate(edition_services.editions_query(status, q))
    return render_template("programme/editions.html", form=form, pager=pager, status=status, q=q)


@bp.route("/editions/new", methods=["GET", "POST"])
@staff
def new_edition():
    """Create a draft edition."""
    form = forms.EditionForm()
    if form.validate_on_submit():
        try:
            edition = edition_services.create_edition(form.values())
        except ProgrammeError as err:
            show_on_form(form, err)
            return render_template(
                "programme/edition_form.html", form=form, edition=None, suggestion=err.suggestion
            ), err.status_code
        flash(_("Draft edition %(title)s created.", title=edition.title), "success")
        return _back_to(edition)
    status = 400 if form.is_submitted() else 200
    return render_template("programme/edition_form.html", form=form, edition=None), status


@bp.route("/editions/<slug>")
@staff
def edition(slug: str):
    """An edition's programme: modules, trainers, sessions and the actions on them."""
    return _edition_page(slug)


def _refused(edition: Edition, err: ProgrammeError):
    """Show the edition page again with why the action was refused, and a 4xx."""
    flash(err.message, "danger")
    return _edition_page(edition.slug, err.status_code)


def _edition_page(slug: str, status: int = 200):
    edition = _edition_or_404(slug)
    used = {em.module_id for em in edition.edition_modules}
    add_form = forms.AddModuleForm()
    add_form.module_id.choices = [
        (m.id, m.name)
        for m in db.session.scalars(catalogue.modules_query(False))
        if m.id not in used
    ]
    return render_template(
        "programme/edition.html",
        edition=edition,
        add_form=add_form,
        accepted=accepted_count(edition.id),
        invite_form=forms.InviteTrainerForm(),
    ), status


@bp.route("/editions/<slug>/edit", methods=["GET", "POST"])
@staff
def edit_edition(slug: str):
    """Change any field of an edition."""
    edition = _edition_or_404(slug)
    form = forms.EditionForm()
    form.allow_timezone(edition.timezone)
    old_timezone = edition.timezone
    if request.method == "GET":
        form.load(edition)
    if form.validate_on_submit():
        try:
            edition_services.update_edition(edition, form.values())
        except ProgrammeError as err:
            show_on_form(form, err)
            return render_template(
                "programme/edition_form.html", form=form, edition=edition, suggestion=err.suggestion
            ), err.status_code
        flash(_("Edition saved."), "success")
        if edition.timezone != old_timezone:
            flash(
                _(
                    "Time zone is now %(tz)s: every session kept its local clock time.",
                    tz=edition.timezone,
                ),
                "info",
            )
        return _back_to(edition)
    status = 400 if form.is_submitted() else 200
    return render_template("programme/edition_form.html", form=form, edition=edition), status


@bp.route("/editions/<slug>/status", methods=["POST"])
@staff
def edition_status(slug: str):
    """Publish, unpublish or archive."""
    edition = _edition_or_404(slug)
    action = request.form.get("action", "")
    try:
        edition_services.set_status(edition, action)
    except ProgrammeError as err:
        return _refused(edition, err)
    messages = {
        "publish": _("Published: visitors now see this edition."),
        "unpublish": _("Unpublished: the edition is a draft again."),
        "archive": _("Archived."),
    }
    flash(messages[action], "success")
    return _back_to(edition)


@bp.route("/editions/<slug>/duplicate", methods=["GET", "POST"])
@staff
def duplicate_edition(slug: str):
    """Start the next season from this edition."""
    edition = _edition_or_404(slug)
    form = forms.DuplicateForm()
    if request.method == "GET":
        suggested = edition_services.next_season(edition)
        form.title.data, form.slug.data = suggested.title, suggested.slug
        form.start_date.data = suggested.start_date
    if form.validate_on_submit():
        try:
            copy = edition_services.duplicate_edition(
                edition,
                title=form.title.data,
                slug=form.slug.data or "",
                start_date=form.start_date.data,
            )
        except ProgrammeError as err:
            show_on_form(form, err)
            return render_template(
                "programme/duplicate.html", form=form, edition=edition
            ), err.status_code
        flash(
            _("%(title)s created as a draft. Check its dates and sessions.", title=copy.title),
            "success",
        )
        return _back_to(copy)
    status = 400 if form.is_submitted() else 200
    return render_template("programme/duplicate.html", form=form, edition=edition), status


@bp.route("/editions/<slug>/schedule")
@staff
def schedule(slug: str):
    """The edition's sessions by week (default) or by day."""
    edition = _edition_or_404(slug)
    view = "day" if request.args.get("view") == "day" else "week"
    day = sessions.schedule_day(request.args.get("day", ""), edition)
    first = day if view == "day" else sessions.week_start(day)
    length = 1 if view == "day" else 7
    return render_template(
        "programme/schedule.html",
        edition=edition,
        view=view,
        first=first,
        days=sessions.schedule_days(edition, first, length),
        previous=first - timedelta(days=length),
        following=first + timedelta(days=length),
    )


# --- edition modules and trainers ---------------------------------------------------------


def _edition_module_or_404(em_id: int) -> EditionModule:
    return db.get_or_404(EditionModule, em_id)


@bp.route("/editions/<slug>/modules", methods=["POST"])
@staff
def add_module(slug: str):
    """Add a catalogue module to the edition."""
    edition = _edition_or_404(slug)
    form = forms.AddModuleForm()
    form.module_id.choices = [(m.id, m.name) for m in db.session.scalars(catalogue.modules_query())]
    if not form.validate_on_submit():
        return _refused(edition, ProgrammeError(_("Choose a module to add."), "no_module"))
    try:
        catalogue.add_module(
            edition, db.get_or_404(Module, form.module_id.data), mandatory=form.mandatory.data
        )
    except ProgrammeError as err:
        return _refused(edition, err)
    flash(_("Module added. Now assign its trainers and sessions."), "success")
    return _back_to(edition)


@bp.route("/edition-modules/<int:em_id>/remove", methods=["GET", "POST"])
@staff
def remove_module(em_id: int):
    """Remove a module (and its sessions) from an edition, unless records depend on it."""
    em = _edition_module_or_404(em_id)
    if request.method == "GET":
        return render_template(
            "programme/remove_module.html", em=em, dependants=catalogue.module_dependants(em)
        )
    edition = em.edition
    try:
        catalogue.remove_module(em)
    except ProgrammeError as err:
        return _refused(edition, err)
    flash(_("Module removed from the edition."), "success")
    return _back_to(edition)


@bp.route("/edition-modules/<int:em_id>/move", methods=["POST"])
@staff
def move_module(em_id: int):
    """Move a module up or down the programme."""
    em = _edition_module_or_404(em_id)
    catalogue.move_module(em, request.form.get("direction", "down"))
    return _back_to(em.edition)


@bp.route("/edition-modules/<int:em_id>/trainers", methods=["GET", "POST"])
@staff
def trainers(em_id: int):
    """Choose the module's trainers; invite a new one by email."""
    em = _edition_module_or_404(em_id)
    form = forms.TrainersForm()
    people = trainer_services.trainer_choices()
    extra = [t for t in em.trainers if t not in people]  # e.g. deactivated since assignment
    form.trainers.choices = [(u.id, f"{u.full_name} ({u.email})") for u in people + extra]
    if request.method == "GET":
        form.trainers.data = [t.id for t in em.trainers]
        form.mandatory.data = em.mandatory
    if form.validate_on_submit():
        try:
            trainer_services.set_trainers(
                em,
                form.trainers.data,
                mandatory=form.mandatory.data,
                confirm=form.confirm_conflicts.data,
            )
        except ProgrammeError as err:
            if not err.conflicts:
                show_on_form(form, err)
            else:
                flash(err.message, "warning")
            return render_template(
                "programme/trainers.html",
                em=em,
                form=form,
                invite_form=_invite_form(em),
                conflicts=err.conflicts,
            ), err.status_code
        flash(_("Trainers of %(module)s saved.", module=em.module.name), "success")
        return _back_to(em.edition, f"#module-{em.id}")
    status = 400 if form.is_submitted() else 200
    return render_template(
        "programme/trainers.html", em=em, form=form, invite_form=_invite_form(em)
    ), status


def _invite_form(em: EditionModule | None) -> forms.InviteTrainerForm:
    form = forms.InviteTrainerForm(formdata=None)
    form.edition_module_id.data = em.id if em else ""
    return form


@bp.route("/trainers/invite", methods=["POST"])
@staff
def invite_trainer():
    """Invite a trainer by email; they set a password from a signed link."""
    form = forms.InviteTrainerForm()
    em = None
    raw_id = form.edition_module_id.data or ""
    if raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 9:  # not "²", not 10**30
        em = _edition_module_or_404(int(form.edition_module_id.data))
    if form.validate_on_submit():
        try:
            user = trainer_services.invite_trainer(form.email.data, form.full_name.data, em)
        except ProgrammeError as err:
            show_on_form(form, err)
        else:
            if user.password_hash:
                flash(_("%(name)s is now a trainer.", name=user.full_name), "success")
            else:
                flash(_("Invitation sent to %(email)s.", email=user.email), "success")
            if em is not None:
                return _back_to(em.edition, f"#module-{em.id}")
            return redirect(url_for("programme.editions"))
    if em is None:
        flash(" ".join(str(e) for errs in form.errors.values() for e in errs), "danger")
        return redirect(url_for("programme.editions")), 303
    trainers_form = forms.TrainersForm(formdata=None)
    trainers_form.trainers.choices = [
        (u.id, u.full_name) for u in trainer_services.trainer_choices()
    ]
    trainers_form.trainers.data = [t.id for t in em.trainers]
    return render_template(
        "programme/trainers.html", em=em, form=trainers_form, invite_form=form
    ), 400


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """An invited trainer sets a password and is signed in."""
    try:
        user = trainer_services.user_for_invitation(token)
    except ProgrammeError as err:
        return render_template("programme/invitation_invalid.html", message=err.message), (
            err.status_code
        )
    form = forms.AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = trainer_services.accept_invitation(token, form.password.data)
        except ProgrammeError as err:
            show_on_form(form, err)
        else:
            sign_in(user)
            flash(
                _("Welcome, %(name)s. Your trainer account is ready.", name=user.full_name),
                "success",
            )
            target = "trainer.home" if "trainer.home" in _endpoints() else "public.home"
            return redirect(url_for(target))
    status = 400 if form.is_submitted() else 200
    return render_template("programme/accept_invitation.html", form=form, user=user), status


def _endpoints():
    from flask import current_app

    return current_app.view_functions


# --- sessions -----------------------------------------------------------------------------


def _session_input(form: forms.SessionForm) -> sessions.SessionInput:
    return sessions.SessionInput(
        day=form.day.data,
        start=form.start_time.data,
        end=form.end_time.data,
        title=form.title.data or "",
        room=form.room.data or "",
        online_url=form.online_url.data or "",
    )


def _save_session_page(em: EditionModule, session: Session | None):
    form = forms.SessionForm()
    if request.method == "GET":
        tz = em.edition.tz
        if session is not None:
            form.day.data = session.starts_at.astimezone(tz).date()
            form.start_time.data = session.starts_at.astimezone(tz).time()
            form.end_time.data = session.ends_at.astimezone(tz).time()
            form.title.data, form.room.data = session.title, session.room
            form.online_url.data = session.online_url
        else:
            form.day.data = em.edition.start_date
    conflicts = []
    if form.validate_on_submit():
        try:
            sessions.save_session(
                em, _session_input(form), session=session, confirm=form.confirm_conflicts.data
            )
        except ProgrammeError as err:
            conflicts = err.conflicts
            if not conflicts:
                show_on_form(form, err)
            else:
                flash(err.message, "warning")
            return render_template(
                "programme/session_form.html",
                em=em,
                session=session,
                form=form,
                conflicts=conflicts,
            ), err.status_code
        flash(_("Session saved."), "success")
        return _back_to(em.edition, f"#module-{em.id}")
    status = 400 if form.is_submitted() else 200
    return render_template(
        "programme/session_form.html", em=em, session=session, form=form, conflicts=conflicts
    ), status


@bp.route("/edition-modules/<int:em_id>/sessions/new", methods=["GET", "POST"])
@staff
def new_session(em_id: int):
    """Add a session to an edition module."""
    return _save_session_page(_edition_module_or_404(em_id), None)


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@staff
def edit_session(session_id: int):
    """Change a session's day, times, room or link."""
    session = db.get_or_404(Session, session_id)
    return _save_session_page(session.edition_module, session)


@bp.route("/sessions/<int:session_id>/delete", methods=["POST"])
@staff
def delete_session(session_id: int):
    """Delete a session without attendance marks."""
    session = db.get_or_404(Session, session_id)
    em = session.edition_module
    try:
        sessions.delete_session(session)
    except ProgrammeError as err:
        return _refused(em.edition, err)
    flash(_("Session deleted."), "success")
    return _back_to(em.edition, f"#module-{em.id}")


@bp.route("/sessions/<int:session_id>/move", methods=["POST"])
@staff
def move_session(session_id: int):
    """Swap a session's slot with the one before or after it."""
    session = db.get_or_404(Session, session_id)
    em = session.edition_module
    sessions.move_session(session, request.form.get("direction", "down"))
    flash(_("Sessions reordered."), "success")
    return _back_to(em.edition, f"#module-{em.id}")


# --- module catalogue ---------------------------------------------------------------------


@bp.route("/modules")
@staff
def modules():
    """The catalogue, active modules first."""
    return render_template("programme/modules.html", pager=paginate(catalogue.modules_query()))


@bp.route("/modules/new", methods=["GET", "POST"])
@staff
def new_module():
    """Add a module to the catalogue."""
    return _module_page(None)


@bp.route("/modules/<int:module_id>/edit", methods=["GET", "POST"])
@staff
def edit_module(module_id: int):
    """Edit a catalogue module."""
    return _module_page(db.get_or_404(Module, module_id))


def _module_page(module: Module | None):
    form = forms.ModuleForm(obj=module)
    if form.validate_on_submit():
        try:
            module = catalogue.save_module(
                module,
                name=form.name.data,
                slug=form.slug.data or "",
                summary=form.summary.data or "",
                description=form.description.data or "",
            )
        except ProgrammeError as err:
            show_on_form(form, err)
            return render_template(
                "programme/module_form.html", form=form, module=module
            ), err.status_code
        flash(_("Module %(name)s saved.", name=module.name), "success")
        return redirect(url_for("programme.modules"))
    status = 400 if form.is_submitted() else 200
    return render_template("programme/module_form.html", form=form, module=module), status


@bp.route("/modules/<int:module_id>/retire", methods=["POST"])
@staff
def retire_module(module_id: int):
    """Retire a module, or bring a retired one back."""
    module = db.get_or_404(Module, module_id)
    retire = request.form.get("retire", "1") == "1"
    catalogue.set_module_retired(module, retire)
    flash(
        _("%(name)s retired: it stays on past editions.", name=module.name)
        if retire
        else _("%(name)s is back in the catalogue.", name=module.name),
        "success",
    )
    return redirect(url_for("programme.modules"))


@bp.route("/modules/<int:module_id>/delete", methods=["POST"])
@staff
def delete_module(module_id: int):
    """Delete a module no edition used."""
    module = db.get_or_404(Module, module_id)
    try:
        catalogue.delete_module(module)
    except ProgrammeError as err:
        flash(err.message, "danger")
        return render_template(
            "programme/modules.html", pager=paginate(catalogue.modules_query())
        ), err.status_code
    flash(_("Module deleted."), "success")
    return redirect(url_for("programme.modules"))
