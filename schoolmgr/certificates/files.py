"""Certificate PDF files: their key in the storage (schoolmgr.storage), reading them back, and
the ZIP of an edition's certificates."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from schoolmgr.certificates.errors import CertificateError
from schoolmgr.certificates.lookup import edition_certificates
from schoolmgr.extensions import db
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


def save_pdf(pdf_name: str, content: bytes) -> None:
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
