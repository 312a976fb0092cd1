"""A few seconds of caching for public pages as anonymous visitors see them.

The home page and edition pages are what crowds hit when a call for registration goes out; for
a visitor who is not signed in they are the same for everyone. Each worker keeps the rendered
page for PUBLIC_PAGE_CACHE_SECONDS (0, the default outside production, switches it off), so a
page is rendered at most once per worker in that time. Seats left and "registration open" can
therefore lag by those few seconds; registering itself always checks the live numbers.
Signed-in visitors, visitors with a message waiting (flash), and unusual query strings are
never served from the cache. The forms of a cached page (the language menu) carry the CSRF token
of the visitor whose visit filled the cache: each visitor served from it gets their own instead.
"""

import threading
import time
from collections.abc import Callable
from functools import wraps

from flask import current_app, g, make_response, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from schoolmgr.i18n import get_locale

MAX_ENTRIES = 2000
CACHEABLE_ARGS = {"page"}

# key -> (expires, body, mimetype, the CSRF token in the body or b"")
_entries: dict[tuple, tuple[float, bytes, str, bytes]] = {}
_lock = threading.Lock()


def clear() -> None:
    with _lock:
        _entries.clear()


def _cacheable() -> bool:
    return (
        request.method == "GET"
        and set(request.args) <= CACHEABLE_ARGS
        and not session.get("_flashes")
        and not current_user.is_authenticated
    )


def cached_for_anonymous(view: Callable) -> Callable:
    """Serve `view`'s 200 response from a per-worker cache to anonymous visitors."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        seconds = current_app.config.get("PUBLIC_PAGE_CACHE_SECONDS", 0)
        if not seconds or not _cacheable():
            return view(*args, **kwargs)
        key = (request.path, request.query_string, str(get_locale()))
        now = time.monotonic()
        hit = _entries.get(key)
        if hit is not None and hit[0] > now:
            _expires, body, mimetype, token = hit
            if token:
                body = body.replace(token, generate_csrf().encode())
            response = make_response(body)
            response.mimetype = mimetype
            return response
        response = make_response(view(*args, **kwargs))
        if response.status_code == 200 and not response.direct_passthrough:
            token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), "")
            with _lock:
                if len(_entries) >= MAX_ENTRIES:
                    _entries.clear()
                _entries[key] = (
                    now + seconds,
                    response.get_data(),
                    response.mimetype,
                    token.encode(),
                )
        return response

    return wrapped
