"""Certificate PDF files: their key in the storage (schoolmgr.storage), reading them back, and
the ZIP of an edition's certificates."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from flask import current_app

from schoolmgr.certificates.errors import CertificateError
from schoolmgr.certificates.lookup import edition_certificates
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import Certificate, Edition
from schoolmgr.storage import MissingFileError, get_storage
from schoolmgr.text import fold


def storage_dir() -> Path:
    path = Path(current_app.config["STORAGE_DIR"]) / "certificates"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pdf_path(certificate: Certificate) -> Path:
    """Where the local storage backend keeps the PDF."""
    return storage_dir() / certificate.pdf_name


def pdf_key(certificate: Certificate) -> str:
    return key_for(certificate.pdf_name)


def key_for(pdf_name: str) -> str:
    return f"certificates/{pdf_name}"


_uploads: ContextVar[BackgroundUploads | None] = ContextVar("certificate_uploads", default=None)


class BackgroundUploads:
    """PDF uploads to a remote storage overlapped with rendering the next certificates: a
    worker would otherwise wait for each PUT (10–50 ms) with its core idle."""

    def __init__(self, storage, threads: int):
        self.storage = storage
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pdf-upload")
        self.pending: dict[str, Future] = {}

    def submit(self, pdf_name: str, content: bytes) -> None:
        self.pending[pdf_name] = self.pool.submit(self.storage.save, key_for(pdf_name), content)

    def wait(self) -> dict[str, Exception]:
        """Wait for every upload; the failed ones by PDF name."""
        failed = {}
        for pdf_name, future in self.pending.items():
            try:
                future.result()
            except Exception as exc:  # reported per certificate by the caller
                failed[pdf_name] = exc
        self.pending = {}
        self.pool.shutdown()
        return failed


@contextmanager
def uploads_overlapped(threads: int = 4) -> Iterator[BackgroundUploads | None]:
    """Within it, `save_pdf` to a remote storage returns at once and uploads meanwhile; the
    caller must `wait()` before any certificate names its file. None for a local folder, where
    a write costs less than handing it over."""
    storage = get_storage()
    if not storage.remote:
        yield None
        return
    uploads = BackgroundUploads(storage, threads)
    token = _uploads.set(uploads)
    try:
        yield uploads
    finally:
        _uploads.reset(token)
        uploads.wait()  # no upload outlives the block, even when it ends by an error


def save_pdf(pdf_name: str, content: bytes) -> None:
    uploads = _uploads.get()
    if uploads is not None:
        uploads.submit(pdf_name, content)
        return
    get_storage().save(key_for(pdf_name), content)  # atomic: the whole PDF or nothing


def delete_pdf(pdf_name: str) -> None:
    get_storage().delete(key_for(pdf_name))


def read_pdf(certificate: Certificate) -> bytes:
    try:
        return get_storage().read_bytes(pdf_key(certificate))
    except MissingFileError as err:
        raise CertificateError(_("The certificate file is missing."), "file_missing", 404) from err


def download_name(certificate: Certificate) -> str:
    name = fold(certificate.snapshot.get("name", "")).replace(" ", "-") or "certificate"
    return f"certificate-{certificate.serial}-{name}.pdf"


def build_zip(edition: Edition) -> tempfile.SpooledTemporaryFile:
    """All current certificates of an edition in one ZIP (PDFs are stored, not recompressed)."""
    spool = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 (returned)
    certificates = db.session.scalars(edition_certificates(edition, current_only=True)).all()
    if not certificates:
        raise CertificateError(_("No certificates have been issued yet."), "none_issued", 404)
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as archive:
        storage = get_storage()
        for certificate in certificates:
            try:
                content = storage.read_bytes(pdf_key(certificate))
            except MissingFileError:
                continue
            archive.writestr(download_name(certificate), content)
    spool.seek(0)
    return spool
