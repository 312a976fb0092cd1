"""Certificate PDF files: where they are stored, writing them safely, reading them back, and
the ZIP of an edition's certificates."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from schoolmgr.certificates.errors import CertificateError
from schoolmgr.certificates.lookup import edition_certificates
from schoolmgr.extensions import db
from schoolmgr.models import Certificate, Edition
from schoolmgr.text import fold


def storage_dir() -> Path:
    path = Path(current_app.config["STORAGE_DIR"]) / "certificates"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pdf_path(certificate: Certificate) -> Path:
    return storage_dir() / certificate.pdf_name


def _write_atomically(path: Path, content: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: never a half-written PDF."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(content)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def read_pdf(certificate: Certificate) -> Path:
    path = pdf_path(certificate)
    if not path.is_file():
        raise CertificateError(_("The certificate file is missing."), "file_missing", 404)
    return path


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
        for certificate in certificates:
            path = pdf_path(certificate)
            if path.is_file():
                archive.write(path, download_name(certificate))
    spool.seek(0)
    return spool
