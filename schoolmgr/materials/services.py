"""Material rules: what may be uploaded, where it is stored, who may see it, versions, deletion.

Every rule that can say no raises MaterialError with a stable `code`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import unicodedata
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import IO
from urllib.parse import urlsplit

import filetype
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import contains_eager, selectinload

from schoolmgr import audit
from schoolmgr.errors import DomainError
from schoolmgr.extensions import db
from schoolmgr.models import (
    Edition,
    EditionModule,
    EditionStatus,
    Material,
    MaterialKind,
    MaterialVisibility,
    Module,
    User,
    utcnow,
)
from schoolmgr.registration.registering import accepted_registration_for
from schoolmgr.storage import get_storage
from schoolmgr.trainer.access import may_manage

CHUNK = 1024 * 1024


class MaterialError(DomainError):
    """A material rule said no; `code` is stable."""


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


# --------------------------------------------------------------------------------------------
# Checking an upload


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


def _receive_checked(stream: IO[bytes], filename: str | None) -> ReceivedFile:
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


def _check_unique_name(edition_module: EditionModule, name: str, ignore_id: int | None) -> None:
    query = sa.select(Material.id).where(
        Material.edition_module_id == edition_module.id,
        Material.kind == MaterialKind.FILE,
        Material.deleted_at.is_(None),
        Material.replaced_by_id.is_(None),
        sa.func.lower(Material.original_name) == name.lower(),
    )
    if ignore_id is not None:
        query = query.where(Material.id != ignore_id)
    if db.session.scalar(query.limit(1)) is not None:
        raise MaterialError(
            _(
                "A file named “%(name)s” is already among this module's materials. Replace that "
                "material to upload a new version, or rename the file.",
                name=name,
            ),
            "duplicate_name",
        )


def _store(material: Material, received: ReceivedFile) -> None:
    """Add the row and put the file into storage just before the commit; undo both on failure."""
    material.stored_name = material.stored_name or uuid.uuid4().hex
    storage = get_storage()
    try:
        db.session.flush()
        storage.put_file(storage_key(material), received.temp_path)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        received.temp_path.unlink(missing_ok=True)
        storage.delete(storage_key(material))
        raise


def _require_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise MaterialError(_("Give the material a title."), "no_title")
    return title


def upload_file(
    edition_module: EditionModule,
    stream: IO[bytes],
    filename: str | None,
    *,
    title: str,
    description: str = "",
    position: int = 0,
    visibility: MaterialVisibility = MaterialVisibility.PARTICIPANTS,
    by: User,
) -> Material:
    """Check and store an uploaded file as a new material of the module."""
    title = _require_title(title)
    received = _receive_checked(stream, filename)
    try:
        _check_unique_name(edition_module, received.original_name, None)
    except MaterialError:
        received.temp_path.unlink(missing_ok=True)
        raise
    material = Material(
        edition_module=edition_module,
        title=title,
        description=description,
        kind=MaterialKind.FILE,
        original_name=received.original_name,
        media_type=received.media_type,
        size=received.size,
        sha256=received.sha256,
        visibility=visibility,
        position=position,
        uploaded_by=by,
    )
    db.session.add(material)
    audit.record(
        "material.upload",
        target=material,
        actor=by,
        edition_id=edition_module.edition_id,
        summary=f"{title} ({received.original_name})",
    )
    _store(material, received)
    return material


def check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 1000:
        raise MaterialError(
            _("Enter a full web address starting with https:// (or http://)."), "bad_url"
        )
    return url


def add_link(
    edition_module: EditionModule,
    url: str,
    *,
    title: str,
    description: str = "",
    position: int = 0,
    visibility: MaterialVisibility = MaterialVisibility.PARTICIPANTS,
    by: User,
) -> Material:
    """Add a link as a material of the module."""
    material = Material(
        edition_module=edition_module,
        title=_require_title(title),
        description=description,
        kind=MaterialKind.LINK,
        url=check_url(url),
        visibility=visibility,
        position=position,
        uploaded_by=by,
    )
    db.session.add(material)
    db.session.flush()
    audit.record(
        "material.link",
        target=material,
        actor=by,
        edition_id=edition_module.edition_id,
        summary=f"{material.title} ({material.url})",
    )
    db.session.commit()
    return material


def _require_current(material: Material) -> None:
    if material.deleted_at is not None:
        raise MaterialError(_("This material has been deleted."), "deleted", status_code=404)
    if material.replaced_by_id is not None:
        raise MaterialError(
            _("This is an earlier version; change the current version instead."),
            "not_current",
            status_code=409,
        )


def replace_material(
    material: Material,
    *,
    by: User,
    stream: IO[bytes] | None = None,
    filename: str | None = None,
    url: str | None = None,
    title: str | None = None,
    description: str | None = None,
) -> Material:
    """Add a new version of a material; the earlier version stays, pointing at the new one."""
    _require_current(material)
    newer = Material(
        edition_module_id=material.edition_module_id,
        title=_require_title(title if title is not None else material.title),
        description=material.description if description is None else description,
        kind=material.kind,
        visibility=material.visibility,
        position=material.position,
        version=material.version + 1,
        uploaded_by=by,
    )
    received = None
    if material.kind == MaterialKind.LINK:
        newer.url = check_url(url if url is not None else material.url)
    else:
        received = _receive_checked(stream, filename)
        try:
            _check_unique_name(material.edition_module, received.original_name, material.id)
        except MaterialError:
            received.temp_path.unlink(missing_ok=True)
            raise
        newer.original_name = received.original_name
        newer.media_type = received.media_type
        newer.size = received.size
        newer.sha256 = received.sha256
        newer.stored_name = uuid.uuid4().hex
    db.session.add(newer)
    try:
        db.session.flush()
    except BaseException:
        db.session.rollback()
        if received is not None:
            received.temp_path.unlink(missing_ok=True)
        raise
    material.replaced_by_id = newer.id
    audit.record(
        "material.replace",
        target=newer,
        actor=by,
        edition_id=material.edition_module.edition_id,
        summary=f"{newer.title} v{newer.version}",
        before={"id": material.id, "version": material.version},
        after={"id": newer.id, "version": newer.version},
    )
    if received is None:
        db.session.commit()
    else:
        _store(newer, received)
    return newer


def update_details(
    material: Material,
    *,
    title: str,
    description: str,
    position: int,
    visibility: MaterialVisibility,
    by: User,
) -> Material:
    """Change a material's title, description, order or visibility (no new version)."""
    _require_current(material)
    before = {"title": material.title, "visibility": material.visibility.value}
    material.title = _require_title(title)
    material.description = description
    material.position = position
    material.visibility = visibility
    audit.record(
        "material.update",
        target=material,
        actor=by,
        edition_id=material.edition_module.edition_id,
        summary=material.title,
        before=before,
        after={"title": material.title, "visibility": visibility.value},
    )
    db.session.commit()
    return material


def versions(material: Material) -> list[Material]:
    """All versions of a material, newest first (one query)."""
    rows = db.session.scalars(
        sa.select(Material).where(Material.edition_module_id == material.edition_module_id)
    ).all()
    by_successor = {m.replaced_by_id: m for m in rows if m.replaced_by_id is not None}
    by_id = {m.id: m for m in rows}
    current = by_id.get(material.id, material)
    while current.replaced_by_id is not None and current.replaced_by_id in by_id:
        current = by_id[current.replaced_by_id]
    chain = [current]
    while chain[-1].id in by_successor:
        chain.append(by_successor[chain[-1].id])
    return chain


def delete_material(material: Material, *, by: User, reason: str = "") -> None:
    """Delete a material and its earlier versions (kept on disk for the audit trail)."""
    _require_current(material)
    now = utcnow()
    for version in versions(material):
        version.deleted_at = now
    audit.record(
        "material.delete",
        target=material,
        actor=by,
        edition_id=material.edition_module.edition_id,
        summary=material.title,
        reason=reason,
    )
    db.session.commit()


# --------------------------------------------------------------------------------------------
# Who sees what


def participates_in(user: User, edition_module: EditionModule) -> bool:
    """An accepted participant of the edition and, with module choice, of this module."""
    return user.is_authenticated and accepted_registration_for(user, edition_module) is not None


def may_view(user: User, material: Material) -> bool:
    """Whether `user` may see and download `material`."""
    if material.deleted_at is not None:
        return False
    edition_module = material.edition_module
    if may_manage(user, edition_module):
        return True
    if material.replaced_by_id is not None:
        return False  # earlier versions are for trainers and staff
    if edition_module.edition.status == EditionStatus.DRAFT:
        return False
    if material.visibility == MaterialVisibility.PUBLIC:
        return True
    return participates_in(user, edition_module)


def current_materials(edition_module: EditionModule) -> list[Material]:
    """The current, not deleted versions of the module's materials, in their order."""
    return list(
        db.session.scalars(
            sa.select(Material)
            .where(
                Material.edition_module_id == edition_module.id,
                Material.deleted_at.is_(None),
                Material.replaced_by_id.is_(None),
            )
            .order_by(Material.position, Material.title, Material.id)
        )
    )


def visible_materials(user: User, edition_module: EditionModule) -> list[Material]:
    """The module's current materials that `user` may see."""
    materials = current_materials(edition_module)
    if may_manage(user, edition_module):
        return materials
    if edition_module.edition.status == EditionStatus.DRAFT:
        return []
    member = participates_in(user, edition_module)
    return [m for m in materials if member or m.visibility == MaterialVisibility.PUBLIC]


def _unique_names(materials: Iterable[Material]) -> list[tuple[Material, str]]:
    seen: set[str] = set()
    named = []
    for material in materials:
        stem, suffix = os.path.splitext(material.original_name)
        name, n = material.original_name, 1
        while name.lower() in seen:
            n += 1
            name = f"{stem} ({n}){suffix}"
        seen.add(name.lower())
        named.append((material, name))
    return named


def write_zip(materials: list[Material], out: IO[bytes]) -> None:
    """Write the given materials' files (and a list of the links) into a ZIP archive."""
    files = [m for m in materials if m.kind == MaterialKind.FILE]
    links = [m for m in materials if m.kind == MaterialKind.LINK]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        storage = get_storage()
        for material, name in _unique_names(files):
            with archive.open(name, "w", force_zip64=True) as member:
                storage.copy_to(storage_key(material), member)
        if links:
            lines = [f"{m.title}\n{m.url}\n" for m in links]
            archive.writestr("links.txt", "\n".join(lines))


def edition_module_by_slugs(edition_slug: str, module_slug: str) -> EditionModule | None:
    """The edition module for a public page; drafts stay hidden from everyone but managers."""
    edition_module = db.session.scalar(
        sa.select(EditionModule)
        .join(Edition, Edition.id == EditionModule.edition_id)
        .join(Module, Module.id == EditionModule.module_id)
        .where(Edition.slug == edition_slug, Module.slug == module_slug)
        .options(
            contains_eager(EditionModule.edition),
            contains_eager(EditionModule.module),
            selectinload(EditionModule.sessions),
            selectinload(EditionModule.trainers),
        )
    )
    if edition_module is None:
        return None
    if edition_module.edition.status == EditionStatus.DRAFT and not may_manage(
        current_user, edition_module
    ):
        return None
    return edition_module


def build_zip(materials: list[Material]) -> IO[bytes]:
    """The materials as a ZIP in a temporary file (in memory up to 16 MB), rewound."""
    spooled = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 (the response closes it)
    write_zip(materials, spooled)
    spooled.seek(0)
    return spooled
