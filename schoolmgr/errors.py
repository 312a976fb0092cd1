"""Error pages in the app's own style, and the domain error every service raises."""

import logging
import math
import time

from flask import Flask, render_template, request
from flask_babel import gettext as _

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


def _render_error(error):
    code = getattr(error, "code", 500) or 500
    if code >= 500:
        log.exception("Unhandled error on %s %s", request.method, request.path)
    description = getattr(error, "description", "") if code < 500 else ""
    retry_after = _seconds_until_retry(error) if code == 429 else None
    return (
        render_template(
            "errors/error.html",
            code=code,
            title=ERROR_TITLES.get(code, ERROR_TITLES[500])(),
            description=description,
            retry_after=retry_after,
            request_id=current_request_id(),
        ),
        code,
    )


def _seconds_until_retry(error) -> int | None:
    """Seconds until the breached rate limit lets the visitor in again (at least 1)."""
    from schoolmgr.extensions import limiter

    current = limiter.current_limit
    if current is not None and current.breached:
        return max(1, math.ceil(current.reset_at - time.time()))
    retry_after = getattr(error, "retry_after", None)
    return int(retry_after) if retry_after else None
