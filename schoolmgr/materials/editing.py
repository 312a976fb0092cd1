"""Changing materials: upload a file, add a link, replace (a new version), change details,
delete. Services own the commit; every refusal is a MaterialError with a stable `code`."""

from __future__ import annotations

import uuid
from typing import IO
from urllib.parse import urlsplit

import sqlalchemy as sa

from schoolmgr import audit
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.materials.errors import MaterialError
from schoolmgr.materials.uploads import ReceivedFile, receive_checked, storage_key
from schoolmgr.models import EditionModule, Material, MaterialKind, MaterialVisibility, User, utcnow
from schoolmgr.storage import get_storage


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
    received = receive_checked(stream, filename)
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
        received = receive_checked(stream, filename)
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
