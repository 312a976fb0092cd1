"""The signed-in user's own profile and password."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required, login_user

from schoolmgr.account import services
from schoolmgr.account.forms import PasswordForm, ProfileForm
from schoolmgr.errors import show_on_form
from schoolmgr.extensions import PASSWORD_GUESS_LIMIT, limiter, signed_in_user_key
from schoolmgr.i18n import gettext as _

bp = Blueprint("account", __name__, url_prefix="/account")


def _page(profile_form=None, password_form=None, status: int = 200):
    user = current_user._get_current_object()
    if profile_form is None:
        profile_form = ProfileForm(formdata=None, obj=user)
        profile_form.country.data = user.country.value if user.country else ""
        profile_form.gender.data = user.gender.value if user.gender else ""
        profile_form.institution_type.data = (
            user.institution_type.value if user.institution_type else ""
        )
    return render_template(
        "account/profile.html",
        profile_form=profile_form,
        password_form=password_form or PasswordForm(formdata=None),
    ), status


@bp.route("/", methods=["GET", "POST"])
@login_required
def profile():
    """Show and save the profile."""
    form = ProfileForm()
    if not form.is_submitted():
        return _page()
    if not form.validate():
        return _page(profile_form=form, status=400)
    try:
        services.update_profile(
            current_user._get_current_object(),
            full_name=form.full_name.data,
            institution=form.institution.data or "",
            position=form.position.data or "",
            country=form.country.data or None,
            gender=form.gender.data or None,
            institution_type=form.institution_type.data or None,
            preferred_language=form.preferred_language.data,
            wants_announcements=bool(form.wants_announcements.data),
        )
    except services.AccountError as err:
        show_on_form(form, err)
        return _page(profile_form=form, status=err.status_code)
    flash(_("Your profile is saved."), "success")
    return redirect(url_for("account.profile"))


@bp.route("/password", methods=["POST"])
@login_required
@limiter.limit(PASSWORD_GUESS_LIMIT, key_func=signed_in_user_key)
def password():
    """Change the password, with the current one; other sessions end, this one stays."""
    form = PasswordForm()
    if not form.validate_on_submit():
        return _page(password_form=form, status=400)
    user = current_user._get_current_object()
    try:
        services.change_password(user, form.current_password.data, form.new_password.data)
    except services.AccountError as err:
        show_on_form(form, err, {"wrong_password": "current_password"}, default="new_password")
        return _page(password_form=form, status=err.status_code)
    login_user(user)
    flash(_("Your password is changed. Other devices have been signed out."), "success")
    return redirect(url_for("account.profile"))
