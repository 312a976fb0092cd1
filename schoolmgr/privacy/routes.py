"""Privacy pages: what we hold about you, download it, delete your account."""

import json

import click
from flask import Blueprint, Response, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required, logout_user

from schoolmgr.errors import show_on_form
from schoolmgr.extensions import PASSWORD_GUESS_LIMIT, limiter, signed_in_user_key
from schoolmgr.i18n import gettext as _
from schoolmgr.models import Role
from schoolmgr.privacy import services
from schoolmgr.privacy.forms import DeleteAccountForm
from schoolmgr.timeutils import today

bp = Blueprint("privacy", __name__, url_prefix="/privacy")


def _page(form: DeleteAccountForm, status: int = 200):
    user = current_user._get_current_object()
    blocking = (
        services.blocking_registrations(user, today()) if user.role == Role.PARTICIPANT else []
    )
    return render_template(
        "privacy/overview.html",
        form=form,
        blocking=blocking,
        can_delete=user.role == Role.PARTICIPANT,
    ), status


@bp.route("/")
@login_required
def overview():
    """What the school holds about you, the download, and the deletion form."""
    return _page(DeleteAccountForm())


@bp.route("/export.json")
@login_required
def export():
    """Download all your personal data as JSON."""
    data = services.export_personal_data(current_user._get_current_object())
    body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)
    filename = f"my-data-{today():%Y-%m-%d}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/delete", methods=["POST"])
@login_required
@limiter.limit(PASSWORD_GUESS_LIMIT, key_func=signed_in_user_key)
def delete():
    """Delete (anonymise) your own account after confirming with your password."""
    form = DeleteAccountForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        services.delete_own_account(current_user._get_current_object(), form.password.data, today())
    except services.PrivacyError as err:
        show_on_form(form, err, {"wrong_password": "password"})
        return _page(form, err.status_code)
    logout_user()
    flash(_("Your account has been deleted and your personal data anonymised."), "success")
    return redirect(url_for("public.home"))


@bp.cli.command("anonymise-expired")
@click.option("--years", type=int, default=None, help="Retention period (default RETENTION_YEARS).")
@click.option("--dry-run", is_flag=True, help="Only list who would be anonymised.")
def anonymise_expired_command(years: int | None, dry_run: bool) -> None:
    """Anonymise participants whose last edition ended more than the retention period ago."""
    years = years if years is not None else current_app.config["RETENTION_YEARS"]
    if years < 1:
        raise click.BadParameter("the retention period is at least 1 year", param_hint="--years")
    ids = services.anonymise_expired(today(), years, dry_run=dry_run)
    verb = "Would anonymise" if dry_run else "Anonymised"
    click.echo(f"{verb} {len(ids)} participants (retention {years} years).")
