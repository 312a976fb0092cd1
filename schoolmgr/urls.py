"""URLs the app builds or follows."""

from urllib.parse import urlsplit


def local_path_or(target: str | None, default: str) -> str:
    """`target` when it is a path on this site (never another host), else `default`."""
    target = target or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default
