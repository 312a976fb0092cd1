"""Public verification: finding a certificate by code, serial or file, and what it states.

No personal data beyond what the certificate prints.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from schoolmgr.certificates import codes
from schoolmgr.certificates.issuing import REVOKE_CATEGORIES
from schoolmgr.extensions import db
from schoolmgr.i18n import DEFAULT_LANGUAGE
from schoolmgr.models import Certificate, Edition
from schoolmgr.timeutils import local


def find_by_code(text: str) -> Certificate | None:
    code = codes.normalise(text)
    if code is None:
        return None
    return db.session.scalar(sa.select(Certificate).where(Certificate.verification_code == code))


def find_by_serial(text: str) -> Certificate | None:
    """The certificate with this serial ("2026-0006-00100"), typed with or without separators."""
    digits = codes.serial_digits(text)
    if digits is None:
        return None
    return db.session.scalar(
        sa.select(Certificate).where(sa.func.replace(Certificate.serial, "-", "") == digits)
    )


def find_by_code_or_serial(text: str) -> tuple[Certificate | None, bool]:
    """The certificate a verifier typed, by code or by serial; True when it was the serial."""
    certificate = find_by_code(text)
    if certificate is not None:
        return certificate, False
    certificate = find_by_serial(text)
    return certificate, certificate is not None


def public_facts(certificate: Certificate) -> dict:
    """What the certificate says and its status, for the verify page and its JSON."""
    s = certificate.snapshot
    facts = {
        "status": certificate.status,
        "serial": certificate.serial,
        "verification_code": certificate.verification_code,
        "holder": s.get("name"),
        "edition": s.get("edition_title"),
        "kind": s.get("kind"),
        "format": s.get("format"),
        "start_date": s.get("start_date"),
        "end_date": s.get("end_date"),
        "dates": s.get("dates"),
        "place": s.get("place"),
        "modules": s.get("modules", []),
        "total_hours": s.get("total_hours"),
        "issued_on": s.get("issued_on"),
        "issuer": s.get("school_name"),
        # Certificates issued before bilingual certificates existed are in English.
        "languages": s.get("languages", [DEFAULT_LANGUAGE]),
        "revoked_on": None,
        "revoked_reason": None,
        "superseded_by": None,
    }
    if certificate.revoked_at:
        revoked = local(certificate.revoked_at, _edition_zone(certificate))
        facts["revoked_on"] = revoked.date().isoformat()
        facts["revoked_reason"] = str(REVOKE_CATEGORIES.get(certificate.revoke_category, ""))
    if certificate.superseded_by is not None:
        facts["superseded_by"] = certificate.superseded_by.serial
    return facts


def _edition_zone(certificate: Certificate) -> str:
    """The time zone of the certificate's edition, whose days its dates are."""
    return db.session.scalar(
        sa.select(Edition.timezone).where(Edition.id == certificate.edition_id)
    )


def match_upload(certificate: Certificate | None, content: bytes) -> Certificate | None:
    """The issued certificate this exact file is, if any (compared by SHA-256)."""
    digest = hashlib.sha256(content).hexdigest()
    if certificate is not None:
        return certificate if certificate.sha256 == digest else None
    return db.session.scalar(sa.select(Certificate).where(Certificate.sha256 == digest).limit(1))
