"""Certificate pages: staff eligibility and issuing, participant downloads, public verification."""

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from schoolmgr.auth.access import role_required
from schoolmgr.certificates import batches, files, forms, issuing, lookup, verification
from schoolmgr.certificates import eligibility as eligibility_rules
from schoolmgr.certificates.issuing import REVOKE_CATEGORIES
from schoolmgr.credentials import services as credential_services
from schoolmgr.editions import staff_edition_or_404 as _edition_or_404
from schoolmgr.errors import back_on_refusal
from schoolmgr.extensions import limiter
from schoolmgr.i18n import fmt_count
from schoolmgr.i18n import gettext as _
from schoolmgr.models import Role
from schoolmgr.pagination import page_number, paginate
from schoolmgr.storage import MissingFileError, get_storage

bp = Blueprint("certificates", __name__)

VERIFY_LIMIT = "30 per minute"
# One budget for every verification lookup (code form, page, JSON, upload), not one per route.
verify_limit = limiter.shared_limit(VERIFY_LIMIT, scope="verify")


def _back_to_row(slug: str, registration_id: int) -> str:
    """The eligibility page the row's form was on (?page=N of the form's action), at the row."""
    page = page_number()
    args = {"page": page} if page > 1 else {}
    return url_for(".eligibility", slug=slug, **args) + f"#reg-{registration_id}"


def _back_to_eligibility(slug: str, **_args) -> str:
    return url_for(".eligibility", slug=slug)


def _back_to_detail(certificate_id: int) -> str:
    return url_for(".detail", certificate_id=certificate_id)


# --------------------------------------------------------------------------------------------
# Staff


@bp.route("/staff/editions/<slug>/certificates")
@role_required(Role.STAFF)
def eligibility(slug: str):
    """Who gets a certificate and why, with exceptions, exclusions and issuing."""
    edition = _edition_or_404(slug)
    standing, pager, rows = eligibility_rules.eligibility_page(edition)
    return render_template(
        "certificates/eligibility.html",
        edition=edition,
        rows=rows,
        pager=pager,
        counts=standing.counts,
        missing=len(standing.missing_ids),
        issued=standing.issued,
        batch=batches.latest_batch(edition),
        progress=batches.batch_progress,
        to_come=batches.sessions_to_come(edition),
        override_form=forms.OverrideForm(),
        issue_form=forms.IssueForm(),
    )


@bp.post("/staff/editions/<slug>/certificates/override/<int:registration_id>")
@role_required(Role.STAFF)
@back_on_refusal(_back_to_row)
def override(slug: str, registration_id: int):
    """Grant an exception, exclude, or withdraw either, with a written reason."""
    edition = _edition_or_404(slug)
    back = _back_to_row(slug, registration_id)
    form = forms.OverrideForm()
    if not form.validate_on_submit():
        flash(_("The decision could not be read; please try again."), "danger")
        return redirect(back), 303
    registration = eligibility_rules.set_override(
        edition, registration_id, form.decision.data, form.reason.data, current_user
    )
    flash(_("Decision recorded for %(name)s.", name=registration.user.full_name), "success")
    return redirect(back)


@bp.post("/staff/editions/<slug>/certificates/issue")
@role_required(Role.STAFF)
@back_on_refusal(_back_to_eligibility)
def issue_all(slug: str):
    """Issue every missing certificate of the edition (in the background when Redis is set)."""
    edition = _edition_or_404(slug)
    form = forms.IssueForm()
    if not form.validate_on_submit():
        abort(400)
    if not form.before_the_end.data and (to_come := batches.sessions_to_come(edition)):
        return _confirm_early(edition, to_come, url_for(".issue_all", slug=slug), None)
    batch = batches.start_batch(edition, current_user)
    batches.enqueue_batch(batch.id)
    return redirect(url_for(".batch", slug=slug, batch_id=batch.id))


@bp.post("/staff/editions/<slug>/certificates/issue/<int:registration_id>")
@role_required(Role.STAFF)
@back_on_refusal(_back_to_row)
def issue_one(slug: str, registration_id: int):
    """Issue one participant's certificate."""
    edition = _edition_or_404(slug)
    back = _back_to_row(slug, registration_id)
    form = forms.IssueForm()
    if not form.validate_on_submit():
        abort(400)
    if not form.before_the_end.data and (to_come := batches.sessions_to_come(edition)):
        action = url_for(
            ".issue_one", slug=slug, registration_id=registration_id, **request.args.to_dict()
        )
        return _confirm_early(
            edition, to_come, action, eligibility_rules.registration_name(edition, registration_id)
        )
    certificate = issuing.issue_one(edition, registration_id, current_user)
    flash(_("Certificate %(serial)s issued.", serial=certificate.serial), "success")
    return redirect(back)


def _confirm_early(edition, to_come: int, action: str, name: str | None):
    """Ask before issuing while sessions remain: the certificate would miss their hours."""
    return render_template(
        "certificates/confirm_early.html",
        edition=edition,
        to_come=to_come,
        action=action,
        name=name,
        back=url_for(".eligibility", slug=edition.slug),
        issue_form=forms.IssueForm(formdata=None),
    ), 409


def _batch_or_404(slug: str, batch_id: int):
    """The edition and one of its bulk-issue runs."""
    edition = _edition_or_404(slug)
    return edition, batches.get_batch(edition, batch_id)


@bp.route("/staff/editions/<slug>/certificates/runs/<int:batch_id>")
@role_required(Role.STAFF)
def batch(slug: str, batch_id: int):
    """Progress of a bulk issue: done / total and failures with reasons."""
    edition, batch = _batch_or_404(slug, batch_id)
    return render_template(
        "certificates/batch.html",
        edition=edition,
        batch=batch,
        progress=batches.batch_progress(batch),
        issue_form=forms.IssueForm(),
    )


@bp.route("/staff/editions/<slug>/certificates/runs/<int:batch_id>.json")
@role_required(Role.STAFF)
def batch_json(slug: str, batch_id: int):
    _edition, batch = _batch_or_404(slug, batch_id)
    progress = batches.batch_progress(batch)
    return jsonify(
        status=batch.status.value,
        label=progress.label,
        total=batch.total,
        done=progress.issued,
        failed=batch.failed,
        percent=progress.percent,
        failures=batch.failures,
        running=progress.running,
        worker_gone=progress.worker_gone,
        shown={  # the counts as the page writes them, for its script
            "done": fmt_count(progress.issued),
            "total": fmt_count(batch.total),
            "failed": fmt_count(batch.failed),
        },
    )


@bp.route("/staff/editions/<slug>/certificates/issued")
@role_required(Role.STAFF)
def issued(slug: str):
    """Every certificate of the edition, superseded and revoked ones included."""
    edition = _edition_or_404(slug)
    pager = paginate(lookup.edition_certificates(edition))
    return render_template("certificates/issued.html", edition=edition, pager=pager)


@bp.route("/staff/editions/<slug>/certificates.zip")
@role_required(Role.STAFF)
@back_on_refusal(_back_to_eligibility)
def download_zip(slug: str):
    """All current certificates of the edition as one ZIP."""
    edition = _edition_or_404(slug)
    archive = files.build_zip(edition)
    return send_file(
        archive,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"certificates-{edition.slug}.zip",
    )


@bp.route("/staff/certificates/<int:certificate_id>")
@role_required(Role.STAFF)
def detail(certificate_id: int):
    """One certificate: what it says, its status, and the revoke and reissue forms."""
    certificate = lookup.certificate_for_staff(certificate_id)
    revoke_form = forms.RevokeForm()
    revoke_form.category.choices = [("", _("Choose"))] + [
        (k, str(v)) for k, v in REVOKE_CATEGORIES.items()
    ]
    return render_template(
        "certificates/detail.html",
        certificate=certificate,
        facts=verification.public_facts(certificate),
        revoke_form=revoke_form,
        reissue_form=forms.ReissueForm(),
    )


@bp.route("/staff/certificates/<int:certificate_id>.pdf")
@role_required(Role.STAFF)
def staff_pdf(certificate_id: int):
    certificate = lookup.certificate_for_staff(certificate_id)
    return _send_pdf(certificate, as_attachment=False)


def _send_pdf(certificate, *, as_attachment: bool):
    """The certificate's PDF from storage (after the caller's permission check)."""
    try:
        return get_storage().send(
            files.pdf_key(certificate),
            mimetype="application/pdf",
            download_name=files.download_name(certificate),
            as_attachment=as_attachment,
        )
    except MissingFileError:
        abort(404)


@bp.post("/staff/certificates/<int:certificate_id>/revoke")
@role_required(Role.STAFF)
@back_on_refusal(_back_to_detail)
def revoke(certificate_id: int):
    """Revoke a certificate with a category (public) and a reason (internal)."""
    back = _back_to_detail(certificate_id)
    form = forms.RevokeForm()
    form.category.choices = [(k, str(v)) for k, v in REVOKE_CATEGORIES.items()]
    certificate = lookup.certificate_for_staff(certificate_id)
    if not form.validate_on_submit():
        flash(_("Choose a category and write the reason (at least 5 characters)."), "danger")
        return redirect(back)
    issuing.revoke(certificate, current_user, form.category.data, form.reason.data)
    flash(_("Certificate %(serial)s revoked.", serial=certificate.serial), "success")
    return redirect(back)


@bp.post("/staff/certificates/<int:certificate_id>/reissue")
@role_required(Role.STAFF)
@back_on_refusal(_back_to_detail)
def reissue(certificate_id: int):
    """Issue a corrected certificate that supersedes this one."""
    back = _back_to_detail(certificate_id)
    form = forms.ReissueForm()
    certificate = lookup.certificate_for_staff(certificate_id)
    if not form.validate_on_submit():
        flash(_("Write what is corrected (at least 5 characters)."), "danger")
        return redirect(back)
    new = issuing.reissue(certificate, current_user, form.reason.data)
    flash(
        _("Certificate %(serial)s issued; the old one is superseded.", serial=new.serial), "success"
    )
    return redirect(url_for(".detail", certificate_id=new.id))


# --------------------------------------------------------------------------------------------
# Participants


@bp.route("/me/certificates")
@login_required
def mine():
    """The signed-in participant's certificates."""
    certificates = lookup.certificates_of(current_user)
    return render_template(
        "certificates/mine.html",
        certificates=certificates,
        credentials=credential_services.credentials_by_certificate(certificates),
    )


@bp.route("/me/certificates/<int:certificate_id>.pdf")
@login_required
def my_pdf(certificate_id: int):
    certificate = lookup.certificate_of(current_user, certificate_id)
    return _send_pdf(certificate, as_attachment=True)


# --------------------------------------------------------------------------------------------
# Public verification


@bp.route("/verify", methods=["GET", "POST"])
@verify_limit
def verify():
    """Enter a code, or upload a PDF to learn whether this exact file was issued."""
    code_form = forms.VerifyCodeForm(request.args)
    upload_form = forms.VerifyUploadForm()
    if request.method == "GET" and request.args.get("code"):
        if code_form.validate():
            certificate, by_serial = verification.find_by_code_or_serial(code_form.code.data)
            if certificate is not None:
                return redirect(
                    url_for(
                        ".verify_code",
                        code=certificate.verification_code,
                        typed="serial" if by_serial else None,
                    )
                )
        return render_template(
            "certificates/verify.html",
            code_form=code_form,
            upload_form=upload_form,
            not_found=True,
        ), 404
    upload_result = None
    if request.method == "POST":
        if not upload_form.validate_on_submit():
            return render_template(
                "certificates/verify.html", code_form=code_form, upload_form=upload_form
            ), 400
        upload_result = verification.match_upload(None, upload_form.pdf.data.read())
        return render_template(
            "certificates/verify.html",
            code_form=code_form,
            upload_form=upload_form,
            upload_checked=True,
            upload_match=upload_result,
            facts=verification.public_facts(upload_result) if upload_result else None,
        )
    return render_template("certificates/verify.html", code_form=code_form, upload_form=upload_form)


@bp.route("/verify/<code>", methods=["GET", "POST"])
@verify_limit
def verify_code(code: str):
    """What the certificate says and whether it is valid; optionally compare an uploaded PDF."""
    certificate = verification.find_by_code(code)
    if certificate is None:
        abort(404)
    typed_serial = request.args.get("typed") == "serial"
    if certificate.verification_code != code:
        return redirect(
            url_for(
                ".verify_code",
                code=certificate.verification_code,
                typed="serial" if typed_serial else None,
            )
        )
    upload_form = forms.VerifyUploadForm()
    upload_checked = upload_match = None
    status = 200
    if request.method == "POST":
        if upload_form.validate_on_submit():
            upload_checked = True
            upload_match = verification.match_upload(certificate, upload_form.pdf.data.read())
        else:
            status = 400
    return render_template(
        "certificates/verify_result.html",
        certificate=certificate,
        facts=verification.public_facts(certificate),
        upload_form=upload_form,
        upload_checked=upload_checked,
        upload_match=upload_match,
        typed_serial=typed_serial,
    ), status


@bp.route("/verify/<code>.json")
@verify_limit
def verify_json(code: str):
    """The same facts as the verify page, for machines."""
    certificate = verification.find_by_code(code)
    if certificate is None:
        return jsonify(error="not_found", message="No certificate has this code."), 404
    return jsonify(verification.public_facts(certificate))
