"""Error pages in the app's own style, and the domain error every service raises."""

import logging
import time
from collections.abc import Callable, Mapping
from functools import wraps

from flask import Flask, current_app, flash, redirect, render_template, request

from schoolmgr.extensions import db, limiter
from schoolmgr.i18n import gettext as _
from schoolmgr.security import current_request_id

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule said no. `code` is stable (tests assert on it); `message` is for people."""

    status_code = 400

    def __init__(self, message: str, code: str, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        if status_code is not None:
            self.status_code = status_code

    def __str__(self) -> str:
        return self.message


def rolls_back(service):
    """Decorate a service: when it says no (`DomainError`), undo what it changed (and release its
    locks) before the caller sees the refusal. Services own their transaction, routes never roll
    back."""

    @wraps(service)
    def wrapped(*args, **kwargs):
        try:
            return service(*args, **kwargs)
        except DomainError:
            db.session.rollback()
            raise

    return wrapped


ERROR_TITLES = {
    400: lambda: _("Bad request"),
    403: lambda: _("You do not have access to this page"),
    404: lambda: _("Page not found"),
    405: lambda: _("Method not allowed"),
    409: lambda: _("Conflict"),
    413: lambda: _("The upload is too large"),
    429: lambda: _("Too many requests"),
    500: lambda: _("Something went wrong"),
}


def init_app(app: Flask) -> None:
    for code in ERROR_TITLES:
        app.register_error_handler(code, _render_error)
    app.register_error_handler(DomainError, _refused)


def back_on_refusal(target: Callable[..., str], category: str = "danger"):
    """Decorate a view: a `DomainError` it lets through flashes its message (as `category`) and
    redirects (303) to `target(**view_args)`, the page the user acted from. 403 and 404 still
    show the error page."""

    def decorate(view):
        view.back_on_refusal = (target, category)
        return view

    return decorate


def show_on_form(
    form, err: DomainError, fields: Mapping[str, str] | None = None, default: str | None = None
) -> None:
    """Put each message of `err` next to its form field, or flash it at the top of the page.
    The field is the one the error names (`problems`), else `fields[err.code]`, else `default`."""
    problems = getattr(err, "problems", None) or [(None, err.message, err.code)]
    for field_name, message, code in problems:
        name = field_name or (fields or {}).get(code) or default
        field = getattr(form, name, None) if name else None
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "danger")


def _refused(err: DomainError):
    """The one answer to a refusal a view did not handle itself: the message as plain text to a
    script, a flash and a redirect back where the view names its page, else a 4xx page."""
    if request.headers.get("X-Requested-With") == "fetch":
        return err.message, err.status_code
    view = current_app.view_functions.get(request.endpoint or "")
    back = getattr(view, "back_on_refusal", None)
    if back is not None and err.status_code not in (403, 404):
        target, category = back
        flash(err.message, category)
        return redirect(target(**(request.view_args or {})), 303)
    return _error_page(err.status_code, err.message)


def _render_error(error):
    code = getattr(error, "code", 500) or 500
    if code >= 500:
        log.exception("Unhandled error on %s %s", request.method, request.path)
    description = getattr(error, "description", "") if code < 500 else ""
    retry_after = _seconds_until_retry(error) if code == 429 else None
    return _error_page(code, description, retry_after)


def _error_page(code: int, description: str, retry_after: int | None = None):
    fallback = ERROR_TITLES[400] if code < 500 else ERROR_TITLES[500]
    return (
        render_template(
            "errors/error.html",
            code=code,
            title=ERROR_TITLES.get(code, fallback)(),
            description=description,
            retry_after=retry_after,
            request_id=current_request_id(),
        ),
        code,
    )


def _seconds_until_retry(error) -> int | None:
    """Seconds until the breached rate limit lets the visitor in again (at least 1), counted
    as Flask-Limiter counts its Retry-After header, so the page and the header agree."""
    current = limiter.current_limit
    if current is not None and current.breached:
        return max(1, int(current.reset_at - time.time()))
    retry_after = getattr(error, "retry_after", None)
    return int(retry_after) if retry_after else None
