"""Checking an upload: what may be uploaded (by content, not by name), the size limit, where
uploads are received and stored, and the clean-up of abandoned partial uploads."""

from __future__ import annotations

import hashlib
import time
import unicodedata
import uuid
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import IO

import filetype
from flask import current_app

from schoolmgr.i18n import gettext as _
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.materials.errors import MaterialError
from schoolmgr.models import Material

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class FileType:
    media_type: str
    extensions: tuple[str, ...]
    label: str


# Keyed by what the content says the file is.
ACCEPTED_TYPES = {
    "pdf": FileType("application/pdf", (".pdf",), "PDF"),
    "docx": FileType(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        (".docx",),
        "Word (DOCX)",
    ),
    "xlsx": FileType(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        (".xlsx",),
        "Excel (XLSX)",
    ),
    "pptx": FileType(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        (".pptx",),
        "PowerPoint (PPTX)",
    ),
    "odt": FileType("application/vnd.oasis.opendocument.text", (".odt",), "OpenDocument text"),
    "ods": FileType(
        "application/vnd.oasis.opendocument.spreadsheet", (".ods",), "OpenDocument spreadsheet"
    ),
    "odp": FileType(
        "application/vnd.oasis.opendocument.presentation",
        (".odp",),
        "OpenDocument presentation",
    ),
    "png": FileType("image/png", (".png",), "PNG image"),
    "jpg": FileType("image/jpeg", (".jpg", ".jpeg"), "JPEG image"),
    "zip": FileType("application/zip", (".zip",), "ZIP archive"),
    "mp4": FileType("video/mp4", (".mp4", ".m4v"), "MP4 video"),
    "txt": FileType("text/plain; charset=utf-8", (".txt", ".md", ".csv"), "text"),
}
ODF_KINDS = {ACCEPTED_TYPES[k].media_type: k for k in ("odt", "ods", "odp")}
OOXML_PREFIXES = {"word/": "docx", "xl/": "xlsx", "ppt/": "pptx"}
ZIP_LIKE = {"zip", "docx", "xlsx", "pptx", "odt", "ods", "odp", "epub"}


def accepted_extensions() -> str:
    return ", ".join(sorted({e for t in ACCEPTED_TYPES.values() for e in t.extensions}))


def storage_dir() -> Path:
    """The local folder where uploads are received and checked (and stored, when local)."""
    path = Path(current_app.config["STORAGE_DIR"]) / "materials"
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_path(material: Material) -> Path:
    """Where the local storage backend keeps the material's file."""
    return storage_dir() / material.stored_name


def storage_key(material: Material) -> str:
    return f"materials/{material.stored_name}"


def max_upload_bytes() -> int:
    return current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024


def clean_filename(name: str | None) -> str:
    """The uploaded file's name, normalised; odd or path-like names are refused."""
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name:
        raise MaterialError(_("Choose a file to upload."), "no_file")
    if (
        "/" in name
        or "\\" in name
        or name.startswith(".")
        or ".." in name
        or any(unicodedata.category(c).startswith("C") for c in name)
        or len(name) > 200
    ):
        raise MaterialError(
            _(
                "The file name “%(name)s” is not accepted: use a plain name such as "
                "“slides.pdf”, without folders, leading dots or special characters.",
                name=name[:80],
            ),
            "bad_name",
        )
    if not PurePosixPath(name).suffix:
        raise MaterialError(_("The file name needs an extension, for example “.pdf”."), "bad_name")
    return name


def _looks_like_text(path: Path) -> bool:
    with path.open("rb") as fh:
        data = fh.read(64 * 1024)
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is fine.
        return exc.start >= len(data) - 3 and len(data) == 64 * 1024
    return True


def detect_kind(path: Path) -> str | None:
    """What the content says the file is (a key of ACCEPTED_TYPES), or None if not accepted."""
    guess = filetype.guess(str(path))
    kind = guess.extension if guess else None
    if kind in ZIP_LIKE:
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                if "mimetype" in names:
                    declared = archive.read("mimetype")[:100].decode("ascii", "replace").strip()
                    return ODF_KINDS.get(declared, "zip" if declared else None)
                if "[Content_Types].xml" in names:
                    for prefix, office_kind in OOXML_PREFIXES.items():
                        if any(n.startswith(prefix) for n in names):
                            return office_kind
                return "zip"
        except (zipfile.BadZipFile, OSError, ValueError):
            raise MaterialError(
                _("The file looks like a ZIP-based document but is damaged."), "damaged_file"
            ) from None
    if kind == "m4v":
        kind = "mp4"
    if kind in ACCEPTED_TYPES:
        return kind
    if kind is None and _looks_like_text(path):
        return "txt"
    return None


# What people call the contents we refuse, by filetype's name for them.
_FOUND_CONTENT = {
    "exe": _l("a Windows program"),
    "elf": _l("a Linux program"),
    "wasm": _l("a WebAssembly program"),
    "crx": _l("a browser extension"),
    "deb": _l("a software package"),
    "rpm": _l("a software package"),
    "cab": _l("a Windows archive"),
    "doc": _l("an old Word (DOC) document"),
    "xls": _l("an old Excel (XLS) spreadsheet"),
    "ppt": _l("an old PowerPoint (PPT) presentation"),
    "rtf": _l("an RTF document"),
    "ps": _l("a PostScript document"),
    "epub": _l("an EPUB e-book"),
    "sqlite": _l("an SQLite database"),
    "swf": _l("a Flash animation"),
}
_FOUND_FAMILIES = {
    _l("an image"): {"gif", "bmp", "tif", "webp", "heic", "avif", "ico", "psd", "xcf", "jpx"},
    _l("an audio file"): {"mp3", "wav", "ogg", "flac", "aac", "m4a", "aiff", "amr", "midi"},
    _l("a video"): {"avi", "mkv", "mov", "webm", "wmv", "flv", "mpg", "3gp"},
    _l("a compressed archive"): {"7z", "rar", "gz", "bz2", "xz", "tar", "zst", "lz", "Z", "ar"},
    _l("a font"): {"ttf", "otf", "woff", "woff2", "eot"},
}


# Each accepted type as a noun with its article: "slides.pdf is not a PDF".
_AS_NOUN = {
    "pdf": _l("a PDF"),
    "docx": _l("a Word (DOCX) document"),
    "xlsx": _l("an Excel (XLSX) spreadsheet"),
    "pptx": _l("a PowerPoint (PPTX) presentation"),
    "odt": _l("an OpenDocument text"),
    "ods": _l("an OpenDocument spreadsheet"),
    "odp": _l("an OpenDocument presentation"),
    "png": _l("a PNG image"),
    "jpg": _l("a JPEG image"),
    "zip": _l("a ZIP archive"),
    "mp4": _l("an MP4 video"),
    "txt": _l("a text file"),
}


def _type_for_name(name: str) -> str | None:
    """The accepted kind the file's extension promises, or None."""
    suffix = PurePosixPath(name).suffix.lower()
    return next((k for k, t in ACCEPTED_TYPES.items() if suffix in t.extensions), None)


def describe_content(path: Path, kind: str | None) -> str:
    """What the content of a file is, in words: "a Windows program", "a PNG image"."""
    if kind is not None:
        return str(_AS_NOUN[kind])
    guess = filetype.guess(str(path))
    found = guess.extension if guess else None
    if found in _FOUND_CONTENT:
        return str(_FOUND_CONTENT[found])
    for family, extensions in _FOUND_FAMILIES.items():
        if found in extensions:
            return str(family)
    return _("not a type of file we recognise")


def _refusal(name: str, expected: str | None, kind: str | None, path: Path) -> MaterialError:
    """Say what the name promised and what the content is, e.g. "slides.pdf is not a PDF"."""
    found = describe_content(path, kind)
    if expected is None:
        return MaterialError(
            _(
                "“%(name)s” is not a type of file we accept: its content is %(found)s. "
                "Accepted: %(types)s.",
                name=name,
                found=found,
                types=accepted_extensions(),
            ),
            "type_not_accepted",
        )
    return MaterialError(
        _(
            "“%(name)s” is not %(expected)s: its content is %(found)s. "
            "Upload the right file, or rename it if the name is wrong.",
            name=name,
            expected=_AS_NOUN[expected],
            found=found,
        ),
        "type_mismatch" if kind is not None else "type_not_accepted",
    )


def _receive(stream: IO[bytes], target: Path) -> tuple[int, str]:
    """Copy the upload to `target`, enforcing the size limit; returns (size, sha256)."""
    limit = max_upload_bytes()
    digest = hashlib.sha256()
    size = 0
    with target.open("xb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise MaterialError(
                    _(
                        "The file is larger than the limit of %(mb)d MB.",
                        mb=current_app.config["MAX_UPLOAD_MB"],
                    ),
                    "too_large",
                    status_code=413,
                )
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise MaterialError(_("The file is empty."), "empty_file")
    return size, digest.hexdigest()


UPLOAD_PREFIX = ".upload-"


def remove_abandoned_uploads(older_than: timedelta = timedelta(hours=24)) -> int:
    """Delete partial uploads left behind by a worker that was killed mid-upload (a failed
    upload removes its own); returns how many. Run it daily (`flask materials clean-uploads`)."""
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for path in storage_dir().glob(UPLOAD_PREFIX + "*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # finished or removed meanwhile
            continue
    return removed


@dataclass
class ReceivedFile:
    temp_path: Path
    original_name: str
    media_type: str
    size: int
    sha256: str


def receive_checked(stream: IO[bytes], filename: str | None) -> ReceivedFile:
    name = clean_filename(filename)
    temp = storage_dir() / f"{UPLOAD_PREFIX}{uuid.uuid4().hex}"
    try:
        size, sha = _receive(stream, temp)
        kind = detect_kind(temp)
        expected = _type_for_name(name)
        if kind is None or kind != expected:
            raise _refusal(name, expected, kind, temp)
        file_type = ACCEPTED_TYPES[kind]
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return ReceivedFile(temp, name, file_type.media_type, size, sha)
