"""URLs the app builds or follows."""

from urllib.parse import urlsplit

from flask import current_app, has_request_context, url_for


def base_url() -> str:
    """The public address of the site (`BASE_URL`), without a trailing slash."""
    return current_app.config["BASE_URL"].rstrip("/")


def site_url(endpoint: str, **values) -> str:
    """An absolute link on `BASE_URL` for emails, calendars, letters and QR codes: the same in a
    request (whatever host it came in on), a CLI command or a worker. `endpoint` is a full name
    ("area.view"); values the route does not take become the query string."""
    if has_request_context():
        path = url_for(endpoint, **values)
    else:
        path = current_app.url_map.bind("").build(endpoint, values)
    return base_url() + path


def local_path_or(target: str | None, default: str) -> str:
    """`target` when it is a path on this site (never another host), else `default`."""
    target = target or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default
