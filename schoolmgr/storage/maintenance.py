"""Operator tasks over the stored files: remove orphans, copy everything to another backend."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from schoolmgr.extensions import db
from schoolmgr.models import Certificate, Material
from schoolmgr.storage import MissingFileError, Storage

FOLDERS = ("materials", "certificates")


def referenced_files() -> Iterator[tuple[str, str | None]]:
    """(key, SHA-256 recorded in the database) of every file a row points at."""
    rows = db.session.execute(
        sa.select(Material.stored_name, Material.sha256).where(Material.stored_name.is_not(None))
    )
    for name, sha in rows:
        yield f"materials/{name}", sha
    for name, sha in db.session.execute(sa.select(Certificate.pdf_name, Certificate.sha256)):
        yield f"certificates/{name}", sha


def remove_orphans(storage: Storage, grace: timedelta, now: datetime | None = None) -> int:
    """Delete stored objects no row points at, once older than `grace`; returns how many.

    The grace period spares files being written right now, whose row is not committed yet.
    """
    cutoff = (now or datetime.now(UTC)) - grace
    referenced = {key for key, _sha in referenced_files()}
    removed = 0
    for folder in FOLDERS:
        for stored in list(storage.list(f"{folder}/")):
            if stored.key not in referenced and stored.modified < cutoff:
                storage.delete(stored.key)
                removed += 1
    abort_stale_uploads = getattr(storage, "abort_stale_uploads", None)
    if abort_stale_uploads is not None:
        removed += abort_stale_uploads(cutoff)
    return removed


@dataclass
class CopyReport:
    copied: int = 0
    already_there: int = 0
    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.mismatched


def copy_all(source: Storage, target: Storage) -> CopyReport:
    """Copy every referenced file to `target`, verifying SHA-256 against the database's record
    and against what `target` then holds. Files already there with the right hash are kept,
    so an interrupted run can simply be repeated."""
    report = CopyReport()
    for key, recorded in referenced_files():
        try:
            content = source.read_bytes(key)
        except MissingFileError:
            report.missing.append(key)
            continue
        digest = hashlib.sha256(content).hexdigest()
        if recorded and digest != recorded:
            report.mismatched.append(key)  # the source itself is damaged: copy nothing
            continue
        try:
            if target.sha256(key) == digest:
                report.already_there += 1
                continue
        except MissingFileError:
            pass
        target.save(key, content)
        if target.sha256(key) != digest:
            report.mismatched.append(key)
            continue
        report.copied += 1
    return report
