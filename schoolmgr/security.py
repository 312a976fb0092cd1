"""Request hardening shared by every route.

- Security headers on every response (CSP without inline scripts, frame-ancestors 'none',
  nosniff, Referrer-Policy, HSTS when cookies are secure or the request came over HTTPS).
- A request id (X-Request-ID, in and out) carried in every log record and on the 500 page.
- Requests holding NUL bytes are refused with a 400 before any query sees them.
- `<int:...>` URL parts are bounded like database ids, so a huge guess is a 404.
- `Cache-Control: private, no-store` on every response to a signed-in user and on personal data
  fetched without sign-in (the calendar feed), so no browser or proxy cache keeps them.
"""

import logging
import re
import time
import uuid
from contextlib import contextmanager

from flask import Flask, abort, g, has_request_context, request, session
from werkzeug.routing import IntegerConverter

from schoolmgr.i18n import gettext as _

REQUEST_ID_HEADER = "X-Request-ID"
# A request id from a proxy is kept only when it is short and plain, so it is safe in logs.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# Scripts only from our own origin: no inline <script>, no on*= attributes, no eval.
# Styles keep 'unsafe-inline' because Bootstrap's JS and htmx set inline styles.
# Images allow data: for Bootstrap's inline SVG icons (navbar toggler, select arrows).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS_VALUE = "max-age=31536000; includeSubDomains"
# Set on every response unless the view has set its own.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=()"),
)
PRIVATE_CACHE_CONTROL = "private, no-store"
# Personal data served without a signed-in user (the URL's token is the credential).
PERSONAL_DATA_ENDPOINTS = frozenset({"registration.calendar_feed"})


# Database ids are 32-bit integers on PostgreSQL (and SQLite overflows past 64 bits).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` URL parts, bounded like database ids: a huge guessed id is a 404, not a 500."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def install_url_converters(app: Flask) -> None:
    """Call before any route is added: rules pick their converter when they are created."""
    app.url_map.converters["int"] = IdConverter


def current_request_id() -> str:
    """The id of the request being handled, or "-" outside a request."""
    if has_request_context():
        return g.get("request_id", "-")
    return "-"


class RequestIdFilter(logging.Filter):
    """Give every log record a `request_id` attribute, so formatters can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


_old_factory = logging.getLogRecordFactory()


def _record_factory(*args, **kwargs) -> logging.LogRecord:
    record = _old_factory(*args, **kwargs)
    record.request_id = current_request_id()
    return record


_record_factory.schoolmgr_request_id = True  # type: ignore[attr-defined]

LOG_FORMAT = "[%(asctime)s] %(levelname)s request_id=%(request_id)s %(name)s: %(message)s"


def refuse_nul_bytes() -> None:
    """No person types a NUL byte, and PostgreSQL cannot even compare text holding one: refuse
    such requests with a 400 before any query sees them, instead of failing with a 500."""
    values = [request.path]
    for multi in (request.args, request.form):
        for key, items in multi.lists():
            values.append(key)
            values.extend(items)
    if any("\x00" in value for value in values):
        abort(400, description=_("The request contains characters that are not allowed."))


def _names_a_user() -> bool:
    """True when the request is signed in (or claims to be): decided without a query, so the
    rule also holds on error pages while the database is down."""
    loaded = g.get("_login_user")
    if loaded is not None and loaded.is_authenticated:
        return True
    return "_user_id" in session


@contextmanager
def answer_no_sooner_than(seconds: float):
    """Hold the answer until `seconds` have passed since entering: for forms whose work
    differs with whether an account exists (an email rendered, stored and sent, or not), so
    that the time of the answer does not tell."""
    started = time.monotonic()
    yield
    remaining = seconds - (time.monotonic() - started)
    if remaining > 0:
        time.sleep(remaining)


def install_log_request_id() -> None:
    """Every log record made during a request carries that request's id (idempotent)."""
    if not getattr(logging.getLogRecordFactory(), "schoolmgr_request_id", False):
        logging.setLogRecordFactory(_record_factory)


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client's address, scheme and host from
    the X-Forwarded-* headers they set (the last N values: what clients send is not trusted),
    so rate limits and logs see each client, not the proxy."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def init_app(app: Flask) -> None:
    trust_proxies(app)
    install_log_request_id()
    from flask.logging import default_handler

    default_handler.setFormatter(logging.Formatter(LOG_FORMAT))
    default_handler.addFilter(RequestIdFilter())

    def assign_request_id() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex

    # First of all before-request hooks, so a rate-limit refusal is logged with the id too.
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks.insert(0, assign_request_id)
    hooks.insert(1, refuse_nul_bytes)

    @app.after_request
    def keep_private_responses_out_of_caches(response):
        """One rule for every route: nothing shown to a signed-in user, and no personal data,
        is stored by a browser or shared cache (static files excepted: they are the same for
        everyone)."""
        if request.endpoint == "static":
            return response
        if request.endpoint in PERSONAL_DATA_ENDPOINTS or _names_a_user():
            response.headers["Cache-Control"] = PRIVATE_CACHE_CONTROL
            response.headers.pop("Expires", None)
        return response

    @app.after_request
    def add_security_headers(response):
        response.headers[REQUEST_ID_HEADER] = current_request_id()
        if not app.config.get("SECURITY_HEADERS", True):
            return response
        headers = response.headers
        wanted = SECURITY_HEADERS
        if app.config.get("SESSION_COOKIE_SECURE") or request.is_secure:
            wanted += (("Strict-Transport-Security", HSTS_VALUE),)
        # One pass over the response's headers (each setdefault would scan them again).
        present = {key.lower() for key, _value in headers}
        headers.extend([(k, v) for k, v in wanted if k.lower() not in present])
        return response
