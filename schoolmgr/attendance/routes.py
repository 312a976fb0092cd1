"""Attendance: rosters, check-in screen, sign-in sheets and summaries for trainers and staff;
self check-in and apologies for participants."""

import io

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from schoolmgr.attendance import checkin as self_checkin
from schoolmgr.attendance import roster as rosters
from schoolmgr.attendance import summaries
from schoolmgr.attendance.errors import AttendanceError
from schoolmgr.attendance.forms import (
    ApologyForm,
    CheckinCodeForm,
    RosterForm,
    RosterSearchForm,
)
from schoolmgr.auth.access import role_required
from schoolmgr.editions import staff_edition_or_404
from schoolmgr.errors import back_on_refusal, show_on_form
from schoolmgr.extensions import db, limiter
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    AttendanceMethod,
    AttendanceStatus,
    Role,
    Session,
    utcnow,
)
from schoolmgr.pagination import paginate
from schoolmgr.readonly import read_only
from schoolmgr.trainer.access import managed_edition_module, managed_session
from schoolmgr.urls import site_url

bp = Blueprint("attendance", __name__)

STATUS_CHOICES = list(AttendanceStatus)


def _is_fetch() -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _roster_url(session_id: int, **_args) -> str:
    return url_for(".roster", session_id=session_id)


def _checkin_screen_url(session_id: int) -> str:
    return url_for(".checkin_screen", session_id=session_id)


ROSTER_PER_PAGE = 50


def _roster_context(session: Session, form: RosterForm | None = None) -> dict:
    edition_module = session.edition_module
    search = RosterSearchForm(request.args)
    q = (search.q.data or "")[:200]
    roster, params = rosters.roster_query(session, q)
    return {
        "session": session,
        "em": edition_module,
        "edition": edition_module.edition,
        "pager": paginate(roster, ROSTER_PER_PAGE, build=rosters.roster_rows, params=params),
        "search": search,
        "q": q,
        "statuses": STATUS_CHOICES,
        "window": self_checkin.checkin_window(session),
        "form": _with_visit_start(form or RosterForm()),
    }


def _with_visit_start(form: RosterForm) -> RosterForm:
    if form.visit_started_at is None:
        form.visit_started.data = utcnow().isoformat()
    return form


def _back_to_roster(session: Session):
    """To the roster page (and search) the trainer was on."""
    kept = {k: v for k, v in request.args.items() if k in ("page", "q") and v}
    return redirect(url_for(".roster", session_id=session.id, **kept))


@bp.route("/trainer/sessions/<int:session_id>", methods=["GET", "POST"])
@read_only
@role_required(Role.TRAINER, Role.STAFF)
def roster(session_id: int):
    """The session's roster, 50 participants a page (a search narrows it): mark each
    participant, save a page of marks at once, or mark everyone not yet marked present."""
    session = managed_session(session_id)
    form = RosterForm()
    if form.validate_on_submit():
        message = _("Saved: %(n)d mark(s) changed.")
        try:
            if request.form.get("action") == "all_present":
                changed = rosters.mark_all_present(session, by=current_user)
            else:
                changed = rosters.save_marks(
                    session,
                    _parse_marks(request.form),
                    by=current_user,
                    method=AttendanceMethod(form.method.data),
                )
                if form.visit_started_at is not None:  # the marks saved as they were clicked too
                    changed = rosters.marks_changed_since(
                        session, current_user, form.visit_started_at
                    )
                    message = _("Saved: %(n)d mark(s) changed during this visit.")
        except AttendanceError as error:
            flash(error.message, "danger")
            return render_template("attendance/roster.html", **_roster_context(session, form)), 400
        flash(message % {"n": changed}, "success")
        return _back_to_roster(session)
    if request.method == "POST":
        return render_template("attendance/roster.html", **_roster_context(session, form)), 400
    return render_template("attendance/roster.html", **_roster_context(session, form))


def _parse_marks(form) -> dict[int, AttendanceStatus | None]:
    marks: dict[int, AttendanceStatus | None] = {}
    for key, value in form.items():
        if not key.startswith("status-"):
            continue
        try:
            registration_id = int(key.removeprefix("status-"))
            marks[registration_id] = AttendanceStatus(value) if value else None
        except ValueError:
            abort(400)
    return marks


@bp.route("/trainer/sessions/<int:session_id>/mark/<int:registration_id>", methods=["POST"])
@role_required(Role.TRAINER, Role.STAFF)
@back_on_refusal(_roster_url)
def mark_one(session_id: int, registration_id: int):
    """Mark one participant; answers the updated roster row when called from the page's JS."""
    session = managed_session(session_id)
    try:
        status = AttendanceStatus(request.form.get("status", ""))
    except ValueError:
        abort(400)
    rosters.save_marks(session, {registration_id: status}, by=current_user)
    if _is_fetch():
        row = rosters.roster_row(session, registration_id)
        if row is None:  # marked, then left the module's participants in the meantime
            return _("This participant is no longer on the roster."), 404
        return render_template(
            "attendance/_roster_row.html", row=row, session=session, statuses=STATUS_CHOICES
        )
    return redirect(url_for(".roster", session_id=session.id))


@bp.route("/trainer/sessions/<int:session_id>/close", methods=["POST"])
@role_required(Role.TRAINER, Role.STAFF)
@back_on_refusal(_roster_url)
def close(session_id: int):
    """Close the session: everyone without a mark becomes absent."""
    session = managed_session(session_id)
    count = rosters.close_session(session, by=current_user)
    flash(_("Session closed; %(n)d participant(s) marked absent.", n=count), "success")
    return redirect(url_for(".roster", session_id=session.id))


@bp.route("/trainer/sessions/<int:session_id>/reopen", methods=["POST"])
@role_required(Role.TRAINER, Role.STAFF)
@back_on_refusal(_roster_url, "warning")
def reopen(session_id: int):
    """Reopen a closed session for self check-in."""
    session = managed_session(session_id)
    rosters.reopen_session(session, by=current_user)
    flash(_("Session reopened."), "success")
    return redirect(url_for(".roster", session_id=session.id))


@bp.route("/trainer/sessions/<int:session_id>/checkin", methods=["GET", "POST"])
@role_required(Role.TRAINER, Role.STAFF)
@back_on_refusal(_checkin_screen_url, "warning")
def checkin_screen(session_id: int):
    """The screen shown in the room: a rotating QR code and the short typed code."""
    session = managed_session(session_id)
    if request.method == "POST":
        self_checkin.ensure_checkin_code(session)
        return redirect(url_for(".checkin_screen", session_id=session.id))
    return render_template(
        "attendance/checkin_screen.html",
        session=session,
        em=session.edition_module,
        edition=session.edition_module.edition,
        window=self_checkin.checkin_window(session),
        rotation=current_app.config["CHECKIN_ROTATION_SECONDS"],
        typed_url=site_url("attendance.checkin"),
    )


@bp.route("/trainer/sessions/<int:session_id>/checkin/qr.svg")
@role_required(Role.TRAINER, Role.STAFF)
def checkin_qr(session_id: int):
    """The current QR code as SVG; it encodes a link with a token that rotates."""
    session = managed_session(session_id)
    token = self_checkin.rotating_token(session)
    url = site_url("attendance.checkin_qr_landing", session_id=session.id, token=token)
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=8, border=2, title=_("Check-in QR code"))
    response = Response(out.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/trainer/sessions/<int:session_id>/sheet.pdf")
@role_required(Role.TRAINER, Role.STAFF)
def sheet(session_id: int):
    """A printable sign-in sheet with names and a signature column."""
    session = managed_session(session_id)
    pdf = rosters.sign_in_sheet_pdf(session)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="sign-in-{session.id}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/trainer/modules/<int:edition_module_id>/attendance")
@role_required(Role.TRAINER, Role.STAFF)
def module_summary(edition_module_id: int):
    """Attendance per participant over the module's sessions (a page of them), and the
    module's rate over all its participants."""
    edition_module = managed_edition_module(edition_module_id)
    pager = paginate(rosters.module_participants(edition_module))
    return render_template(
        "attendance/summary.html",
        em=edition_module,
        edition=edition_module.edition,
        rows=summaries.module_summary_rows(edition_module, pager.items),
        rates=[summaries.module_rate(edition_module)],
        pager=pager,
        csv_url=url_for(".module_summary_csv", edition_module_id=edition_module.id),
    )


@bp.route("/trainer/modules/<int:edition_module_id>/attendance.csv")
@role_required(Role.TRAINER, Role.STAFF)
def module_summary_csv(edition_module_id: int):
    edition_module = managed_edition_module(edition_module_id)
    rows, _rate = summaries.module_summary(edition_module)
    return _csv(
        summaries.summary_csv(rows),
        f"attendance-{edition_module.edition.slug}-{edition_module.module.slug}.csv",
    )


@bp.route("/staff/editions/<slug>/attendance")
@role_required(Role.STAFF)
def edition_summary(slug: str):
    """Attendance per participant over the whole edition, and rates per module."""
    edition = staff_edition_or_404(slug)
    pager = paginate(summaries.edition_participants(edition))
    return render_template(
        "attendance/summary.html",
        em=None,
        edition=edition,
        rows=summaries.summary_rows(edition, pager.items),
        rates=summaries.module_rates(edition),
        pager=pager,
        csv_url=url_for(".edition_summary_csv", slug=edition.slug),
    )


@bp.route("/staff/editions/<slug>/attendance.csv")
@role_required(Role.STAFF)
def edition_summary_csv(slug: str):
    edition = staff_edition_or_404(slug)
    rows, _rates = summaries.edition_summary(edition)
    return _csv(summaries.summary_csv(rows), f"attendance-{edition.slug}.csv")


def _csv(text: str, filename: str) -> Response:
    response = Response("\ufeff" + text, mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


# Participants ---------------------------------------------------------------------------------


@bp.route("/checkin", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per minute", methods=["POST"])
def checkin():
    """Check in by typing the code shown in the room."""
    form = CheckinCodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            result = self_checkin.check_in_with_code(current_user, form.code.data)
        except AttendanceError as error:
            show_on_form(form, error, default="code")
            status = error.status_code
        else:
            return _checked_in(result)
    elif request.method == "POST":
        status = 400
    return render_template("attendance/checkin.html", form=form), status


def _checked_in(result: self_checkin.CheckinResult):
    attendance = result.attendance
    if result.already:
        flash(_("You had already checked in: nothing changed."), "info")
    elif attendance.status == AttendanceStatus.LATE:
        flash(_("You are checked in, marked as late."), "warning")
    else:
        flash(_("You are checked in. Welcome!"), "success")
    return render_template(
        "attendance/checked_in.html",
        attendance=attendance,
        session=attendance.session,
        edition=attendance.session.edition_module.edition,
    )


@bp.route("/checkin/<int:session_id>/<token>", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per minute", methods=["POST"])
def checkin_qr_landing(session_id: int, token: str):
    """Where the QR code leads: confirm, then check in."""
    session = db.get_or_404(Session, session_id)
    if request.method == "POST":
        try:
            result = self_checkin.check_in_with_token(current_user, session, token)
        except AttendanceError as error:
            flash(error.message, "danger")
            return (
                render_template("attendance/checkin.html", form=CheckinCodeForm()),
                error.status_code,
            )
        return _checked_in(result)
    return render_template(
        "attendance/checkin_confirm.html",
        session=session,
        edition=session.edition_module.edition,
        token=token,
        now=utcnow(),
    )


def _module_page_of(session_id: int) -> str:
    """The participant's page of the session's module, where its apology form is."""
    edition_module = db.get_or_404(Session, session_id).edition_module
    return url_for(
        "materials.module_page",
        slug=edition_module.edition.slug,
        module_slug=edition_module.module.slug,
    )


@bp.route("/sessions/<int:session_id>/apology", methods=["POST"])
@login_required
@back_on_refusal(_module_page_of)
def apology(session_id: int):
    """A participant excuses themselves from a session before it starts."""
    session = db.get_or_404(Session, session_id)
    back = _module_page_of(session_id)
    form = ApologyForm(prefix=f"s{session.id}")
    if not form.validate_on_submit():
        flash(_("Tell the trainer briefly why you cannot attend."), "danger")
        return redirect(back)
    self_checkin.send_apology(current_user, session, form.comment.data)
    flash(_("Your apology was sent; you are marked as excused."), "success")
    return redirect(back)
