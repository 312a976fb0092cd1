"""Open Badges pages: the issuer's public documents, holders' downloads, verifying a credential."""

import json

from flask import Blueprint, Response, render_template
from flask_login import current_user, login_required

from schoolmgr.certificates.issuing import REVOKE_CATEGORIES
from schoolmgr.certificates.routes import verify_limit
from schoolmgr.certificates.verification import public_facts
from schoolmgr.credentials import documents, forms, services
from schoolmgr.i18n import gettext as _

bp = Blueprint("credentials", __name__)

JSON_LD = "application/ld+json"


def _json(document: dict, mimetype: str = "application/json", max_age: int = 3600) -> Response:
    response = Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"  # wallets and verifiers fetch these
    return response


@bp.app_template_global()
def credential_verify_form() -> forms.VerifyCredentialForm:
    """The "verify a digital credential" form, for the verify page."""
    return forms.VerifyCredentialForm(formdata=None)


# --------------------------------------------------------------------------------------------
# Public documents (the issuer's profile, keys, achievements and status lists)


@bp.route("/credentials/issuer")
def issuer():
    """The school's Open Badges issuer profile."""
    return _json({"@context": documents.CONTEXTS, **documents.issuer_profile()}, JSON_LD)


@bp.route("/.well-known/jwks.json")
def jwks():
    """Every public key that signed credentials (current and retired)."""
    return _json(services.jwks(), max_age=300)


@bp.route("/credentials/keys/<key_id>")
def public_key(key_id: str):
    """One public key as a JWK: what a credential's `kid` dereferences to."""
    return _json(services.public_key(key_id), max_age=300)


@bp.route("/credentials/achievements/<slug>")
def achievement(slug: str):
    """An edition as an Open Badges Achievement (as it is now; credentials embed theirs)."""
    edition = services.edition_for_achievement(slug)
    return _json({"@context": documents.CONTEXTS, **documents.achievement(edition)}, JSON_LD)


@bp.route("/credentials/status/<int:list_number>")
def status_list(list_number: int):
    """A Bitstring Status List credential (VC-JWT) with one revocation bit per credential."""
    token = services.status_list_jwt(list_number)
    response = Response(token, mimetype="application/vc+jwt")
    response.headers["Cache-Control"] = "public, max-age=60"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# --------------------------------------------------------------------------------------------
# Holders


def _mine(certificate_id: int):
    return services.credential_for_holder(current_user, certificate_id)


@bp.route("/me/certificates/<int:certificate_id>/credential.jwt")
@login_required
def my_jwt(certificate_id: int):
    """The signed credential (VC-JWT), as a file for a wallet."""
    row = _mine(certificate_id)
    response = Response(row.jwt, mimetype="application/vc+jwt")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{services.download_name(row, "jwt")}"'
    )
    return response


@bp.route("/me/certificates/<int:certificate_id>/credential.json")
@login_required
def my_json(certificate_id: int):
    """The credential decoded: what the signed JWT says, readable."""
    row = _mine(certificate_id)
    response = _json(services.decoded(row), max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{services.download_name(row, "json")}"'
    )
    return response


@bp.route("/me/certificates/<int:certificate_id>/badge.png")
@login_required
def my_badge(certificate_id: int):
    """The badge image with the signed credential baked in (Open Badges 3.0 PNG baking)."""
    row = _mine(certificate_id)
    response = Response(services.baked_png(row), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{services.download_name(row, "png")}"'
    )
    return response


# --------------------------------------------------------------------------------------------
# Verifying a credential


@bp.post("/verify/credential")
@verify_limit
def verify():
    """Check a pasted credential or an uploaded .jwt / baked badge: signature and status."""
    form = forms.VerifyCredentialForm()
    if not form.validate_on_submit():
        return render_template("credentials/verify_result.html", form=form, result=None), 400
    upload = form.file.data
    if upload and getattr(upload, "filename", ""):
        result = services.verify(upload.read())
    else:
        result = services.verify(form.credential.data or "")
    if result.problem in ("empty", "unreadable", "no_baked_credential"):
        form.credential.errors = [result.message()]
        return render_template("credentials/verify_result.html", form=form, result=None), 400
    facts = public_facts(result.row.certificate) if result.row is not None else None
    return render_template(
        "credentials/verify_result.html",
        form=forms.VerifyCredentialForm(formdata=None),
        result=result,
        facts=facts,
        reason=_reason(result),
    )


def _reason(result: services.Verification) -> str:
    if result.row is None or not result.row.revocation_reason:
        return ""
    if result.row.revocation_reason == "superseded":
        return _("replaced by a corrected certificate")
    return str(REVOKE_CATEGORIES.get(result.row.revocation_reason, ""))


@bp.app_template_global()
def credential_linkedin_url(row) -> str:
    """LinkedIn's add-certification address for a holder's credential."""
    return services.linkedin_url(row)
