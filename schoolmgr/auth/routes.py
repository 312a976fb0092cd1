"""Sign-up, sign-in and sign-out pages."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user

from schoolmgr.auth import services
from schoolmgr.auth.forms import (
    ForgotPasswordForm,
    LoginForm,
    ResetPasswordForm,
    SignupForm,
)
from schoolmgr.auth.sessions import end_session, sign_in
from schoolmgr.errors import show_on_form
from schoolmgr.extensions import PASSWORD_GUESS_LIMIT, limiter
from schoolmgr.i18n import current_language
from schoolmgr.i18n import gettext as _
from schoolmgr.security import answer_no_sooner_than
from schoolmgr.urls import local_path_or

bp = Blueprint("auth", __name__)


def _safe_next(default: str) -> str:
    """Only follow `next` to a path on this site."""
    return local_path_or(request.args.get("next"), default)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def signup():
    """Create a participant account; the answer is the same whether the email had one."""
    if current_user.is_authenticated:
        return redirect(url_for("public.home"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            services.sign_up(
                email=form.email.data,
                full_name=form.full_name.data,
                password=form.password.data,
                country=form.country.data,
                institution=form.institution.data,
                position=form.position.data or "",
                # Emails follow the language the person signed up in until they choose one.
                preferred_language=current_language(),
            )
        except services.AuthError as err:
            show_on_form(form, err, default="password")
            return render_template("auth/signup.html", form=form), err.status_code
        flash(
            _(
                "Check your email: we have sent a message to %(email)s. "
                "Then sign in with your email and password.",
                email=form.email.data.strip().lower(),
            ),
            "info",
        )
        next_url = _safe_next("")
        return redirect(url_for("auth.login", next=next_url or None))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/signup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(PASSWORD_GUESS_LIMIT, methods=["POST"])
def login():
    """Sign in with email and password."""
    if current_user.is_authenticated:
        return redirect(_safe_next(url_for("public.home")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.AuthError as err:
            show_on_form(form, err)
            return render_template("auth/login.html", form=form), err.status_code
        sign_in(user, remember=form.remember.data)
        flash(_("Signed in as %(name)s.", name=user.full_name), "success")
        return redirect(_safe_next(url_for("public.home")))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out: this sign-in ends on the server too, so copies of its cookies stop working."""
    end_session(current_user._get_current_object())
    logout_user()
    flash(_("You have been signed out."), "info")
    return redirect(url_for("public.home"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def forgot_password():
    """Ask for a password reset link; the answer never tells whether the email exists."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        with answer_no_sooner_than(current_app.config["FORGOT_PASSWORD_ANSWER_MS"] / 1000):
            services.request_password_reset(form.email.data)
        flash(
            _(
                "If an account uses this address, we have sent it a link to choose a new "
                "password. Check your inbox."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/forgot_password.html", form=form), status


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def reset_password(token: str):
    """Choose a new password from the emailed link (signed, expiring, single use)."""
    try:
        services.user_for_reset_token(token)
    except services.AuthError as err:
        flash(err.message, "danger")
        return render_template("auth/reset_password.html", form=None), err.status_code
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except services.AuthError as err:
            show_on_form(form, err, default="password")
            return render_template("auth/reset_password.html", form=form), err.status_code
        if current_user.is_authenticated:
            end_session(current_user._get_current_object())
            logout_user()
        flash(_("Your password is changed. Sign in with your new password."), "success")
        return redirect(url_for("auth.login"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/reset_password.html", form=form), status
