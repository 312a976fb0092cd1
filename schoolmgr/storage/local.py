"""Stored files in a folder of the server (STORAGE_DIR): one server, or a shared file system."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from flask import Response, current_app, make_response, send_file

from schoolmgr.storage import (
    MissingFileError,
    Storage,
    StoredObject,
    check_key,
    content_disposition,
)


class LocalStorage(Storage):
    name = "local"

    def __init__(self, root: Path):
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _temporary_beside(self, path: Path) -> tuple[int, str]:
        path.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")

    def save(self, key: str, content: bytes) -> None:
        # A temporary file in the same folder, then a rename: never a half-written file.
        path = self.path(key)
        fd, tmp_name = self._temporary_beside(path)
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(content)
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def put_file(self, key: str, path: Path) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, target)  # same file system: atomic
        except OSError:
            fd, tmp_name = self._temporary_beside(target)
            try:
                with os.fdopen(fd, "wb") as tmp, open(path, "rb") as src:
                    shutil.copyfileobj(src, tmp)
                os.replace(tmp_name, target)
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise
            path.unlink()

    def open(self, key: str) -> IO[bytes]:
        try:
            return self.path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError) as err:
            raise MissingFileError(key) from err

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError as err:
            raise MissingFileError(key) from err

    def list(self, prefix: str) -> Iterator[StoredObject]:
        folder = self.root / check_key(prefix.rstrip("/"))
        if not folder.is_dir():
            return
        for entry in os.scandir(folder):
            try:
                if not entry.is_file():
                    continue
                stat = entry.stat()
            except FileNotFoundError:  # removed meanwhile
                continue
            yield StoredObject(
                f"{prefix.rstrip('/')}/{entry.name}",
                stat.st_size,
                datetime.fromtimestamp(stat.st_mtime, UTC),
            )

    def send(self, key: str, *, mimetype: str, download_name: str, as_attachment: bool) -> Response:
        path = self.path(key)
        if not path.is_file():
            raise MissingFileError(key)
        header, prefix = sendfile_settings()
        if header is None:
            return send_file(
                path,
                mimetype=mimetype,
                as_attachment=as_attachment,
                download_name=download_name,
                conditional=True,
                max_age=0,
            )
        # The front web server sends the file; the app only says which one.
        response = make_response("")
        if header.lower() == "x-sendfile":
            response.headers[header] = str(path.resolve())
        else:
            response.headers[header] = f"{prefix}/{key}"
        response.headers["Content-Type"] = mimetype
        response.headers["Content-Disposition"] = content_disposition(download_name, as_attachment)
        return response


def sendfile_settings() -> tuple[str | None, str]:
    """(header, prefix): STORAGE_X_ACCEL_PREFIX means nginx's X-Accel-Redirect under it."""
    config = current_app.config
    if config.get("STORAGE_X_ACCEL_PREFIX"):
        return "X-Accel-Redirect", config["STORAGE_X_ACCEL_PREFIX"].rstrip("/")
    return config.get("SENDFILE_HEADER") or None, config["SENDFILE_PREFIX"].rstrip("/")
