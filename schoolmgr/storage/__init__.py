"""Where stored files live: a local folder (default) or an S3-compatible bucket.

Keys are relative paths such as `materials/<stored_name>` or `certificates/<pdf_name>`. Every
backend writes an object whole or not at all, so a key never names half a file. Services write
the object before the commit that references it and delete it if that commit fails; an object
left behind by a process killed in between is unreferenced, and `flask storage cleanup` removes
it after a grace period.
"""

from __future__ import annotations

import hashlib
import shutil
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO
from urllib.parse import quote

from flask import Flask, Response, current_app
from werkzeug.datastructures import Headers

CHUNK = 1024 * 1024


class MissingFileError(FileNotFoundError):
    """The key names no stored object."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: datetime  # timezone-aware


def content_disposition(download_name: str, as_attachment: bool) -> str:
    """The Content-Disposition value Flask's send_file would set, for every way of sending."""
    try:
        download_name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", download_name).encode("ascii", "ignore").decode()
        quoted = quote(download_name, safe="!#$&+-.^_`|~")
        names = {"filename": simple, "filename*": f"UTF-8''{quoted}"}
    else:
        names = {"filename": download_name}
    headers = Headers()
    headers.set("Content-Disposition", "attachment" if as_attachment else "inline", **names)
    return headers["Content-Disposition"]


def check_key(key: str) -> str:
    """Refuse keys that could leave the storage root (keys are built by the app, never typed)."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"bad storage key: {key!r}")
    return key


class Storage:
    """The operations the app needs; see LocalStorage and S3Storage."""

    name = ""
    # A write waits on the network: callers writing many objects overlap them with other work.
    remote = False

    def save(self, key: str, content: bytes) -> None:
        """Store `content` under `key`, replacing any object there; atomic."""
        raise NotImplementedError

    def put_file(self, key: str, path: Path) -> None:
        """Move the local file at `path` into storage under `key`; atomic."""
        raise NotImplementedError

    def open(self, key: str) -> IO[bytes]:
        """A binary stream of the object (close it); MissingFileError if there is none."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Remove the object if it exists."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def size(self, key: str) -> int:
        raise NotImplementedError

    def list(self, prefix: str) -> Iterator[StoredObject]:
        """Every object whose key starts with `prefix` (a folder such as "materials/")."""
        raise NotImplementedError

    def send(self, key: str, *, mimetype: str, download_name: str, as_attachment: bool) -> Response:
        """A response that delivers the object to the browser; MissingFileError if there is none.

        Call it only after the permission checks: the response itself hands the file out.
        """
        raise NotImplementedError

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    def sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        with self.open(key) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def copy_to(self, key: str, out: IO[bytes]) -> None:
        """Write the object into an open binary file (a ZIP member, a spooled file)."""
        with self.open(key) as stream:
            shutil.copyfileobj(stream, out, CHUNK)


def make_storage(config: dict, backend: str | None = None) -> Storage:
    """A backend from the app's settings; `backend` overrides STORAGE_BACKEND."""
    backend = (backend or config.get("STORAGE_BACKEND") or "local").lower()
    # Each backend imports this module (and S3 needs boto3): imported on use.
    if backend == "local":
        from schoolmgr.storage.local import LocalStorage

        return LocalStorage(Path(config["STORAGE_DIR"]))
    if backend == "s3":
        from schoolmgr.storage.s3 import S3Storage

        return S3Storage.from_config(config)
    raise ValueError(f"STORAGE_BACKEND must be 'local' or 's3', not {backend!r}")


def get_storage(app: Flask | None = None) -> Storage:
    """The app's storage, built once per set of settings (tests change them per app)."""
    app = app or current_app._get_current_object()
    settings = tuple(
        app.config.get(k)
        for k in (
            "STORAGE_BACKEND",
            "STORAGE_DIR",
            "S3_BUCKET",
            "S3_PREFIX",
            "S3_ENDPOINT_URL",
            "S3_PUBLIC_ENDPOINT_URL",
        )
    )
    cached = app.extensions.get("storage")
    if cached is None or cached[0] != settings:
        cached = (settings, make_storage(app.config))
        app.extensions["storage"] = cached
    return cached[1]


def check_settings(config: dict) -> None:
    """Refuse to start with storage settings that cannot work, saying which."""
    backend = (config.get("STORAGE_BACKEND") or "local").lower()
    if backend not in ("local", "s3"):
        raise RuntimeError(f"STORAGE_BACKEND must be 'local' or 's3', not {backend!r}.")
    if backend == "s3" and not config.get("S3_BUCKET"):
        raise RuntimeError("STORAGE_BACKEND=s3 needs S3_BUCKET (and S3_ENDPOINT_URL off AWS).")
    if config.get("STORAGE_DOWNLOADS", "stream") not in ("stream", "redirect"):
        raise RuntimeError("STORAGE_DOWNLOADS must be 'stream' or 'redirect'.")
