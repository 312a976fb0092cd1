"""Open Badges 3.0 credentials beside the PDF: issue, revoke, publish, verify.

Certificate issuing calls `issue_for` and `revoke_for` inside its own transaction (single, bulk,
reissue, revoke), so a certificate and its credential are committed, or refused, together.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import current_app
from joserfc import jws
from joserfc.errors import JoseError

from schoolmgr.certificates.errors import CertificateError
from schoolmgr.credentials import baking, documents
from schoolmgr.credentials.keys import ALGORITHM, SchoolKey, SigningKeyError, key_ring
from schoolmgr.errors import DomainError
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.i18n import lazy_gettext as _l
from schoolmgr.models import BadgeCredential, Certificate, Edition, Registration, User, utcnow
from schoolmgr.text import fold

STATIC_BADGES = Path(__file__).resolve().parent.parent.parent / "static" / "img" / "badges"
MAX_TOKEN_CHARS = 200_000


class CredentialError(DomainError):
    """A credential rule said no; `code` is stable."""


def _signing_key() -> SchoolKey:
    try:
        return key_ring().signing
    except SigningKeyError as exc:
        current_app.logger.error("Credential signing key: %s", exc)
        raise CredentialError(
            _("Digital credentials cannot be signed: the signing key is not configured."),
            "no_signing_key",
            503,
        ) from exc


def sign(payload: dict, key: SchoolKey) -> str:
    """The Compact JWS of `payload` (a credential) with the OB 3.0 JOSE header."""
    header = {"alg": ALGORITHM, "kid": documents.key_uri(key.key_id), "typ": "JWT"}
    claims = documents.jwt_claims(payload)
    body = json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return jws.serialize_compact(header, body, key.key, algorithms=[ALGORITHM])


# --------------------------------------------------------------------------------------------
# Issuing and revoking (called by schoolmgr.certificates.issuing, before its commit)


def issue_for(certificate: Certificate) -> BadgeCredential:
    """Sign the OpenBadgeCredential of `certificate` and add it to the session (no commit).

    Flushes: the new row's id is its place in the revocation status list.
    """
    return issue_for_many([certificate])[0]


def issue_for_many(certificates: list[Certificate]) -> list[BadgeCredential]:
    """`issue_for` for several certificates: one flush, each edition's achievement built once.

    The certificates' registrations, users and editions (with modules and sessions) should be
    loaded already (schoolmgr.certificates.issuing.record_chunk does that in one go).
    """
    try:
        key = _signing_key()
    except CredentialError as exc:
        # Refuse the certificate with the reason, as its other rules do.
        raise CertificateError(exc.message, exc.code, exc.status_code) from exc
    rows = [
        BadgeCredential(
            certificate=certificate,
            credential_uri=f"urn:uuid:{uuid.uuid4()}",
            key_id=key.key_id,
            jwt="",
            issued_at=certificate.issued_at or utcnow(),
        )
        for certificate in certificates
    ]
    db.session.add_all(rows)
    db.session.flush()
    achievements: dict[int, dict] = {}
    for certificate, row in zip(certificates, rows, strict=True):
        registration = certificate.registration
        edition = registration.edition
        if edition.id not in achievements:
            achievements[edition.id] = documents.achievement(edition)
        user = registration.user
        credential = documents.open_badge_credential(
            credential_uri=row.credential_uri,
            subject_uri=f"urn:uuid:{uuid.uuid4()}",
            snapshot=certificate.snapshot,
            edition=edition,
            edition_achievement=achievements[edition.id],
            email=None if user.anonymised_at else user.email,
            salt=secrets.token_hex(16),
            pdf_sha256=certificate.sha256,
            status=documents.status_position(row.id),
        )
        row.jwt = sign(credential, key)
    return rows


def revoke_for(certificate: Certificate, reason: str) -> BadgeCredential | None:
    """Set the credential's status bit (revoked) in the caller's transaction."""
    row = credential_of_certificate(certificate)
    if row is None or row.revoked_at is not None:
        return row
    row.revoked_at = utcnow()
    row.revocation_reason = reason[:40]
    return row


# --------------------------------------------------------------------------------------------
# Reading


def credential_of_certificate(certificate: Certificate) -> BadgeCredential | None:
    return db.session.scalar(
        sa.select(BadgeCredential).where(BadgeCredential.certificate_id == certificate.id)
    )


def credentials_by_certificate(certificates: list[Certificate]) -> dict[int, BadgeCredential]:
    """The credentials of a list of certificates in one query (for "My certificates")."""
    ids = [c.id for c in certificates]
    if not ids:
        return {}
    rows = db.session.scalars(
        sa.select(BadgeCredential).where(BadgeCredential.certificate_id.in_(ids))
    )
    return {row.certificate_id: row for row in rows}


def credential_for_holder(user: User, certificate_id: int) -> BadgeCredential:
    """The user's own credential; anyone else's (or a missing one) answers 404."""
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or certificate.registration.user_id != user.id:
        raise CredentialError(_("No such credential."), "not_found", 404)
    row = credential_of_certificate(certificate)
    if row is None:
        raise CredentialError(_("No such credential."), "not_found", 404)
    return row


def decoded(row: BadgeCredential) -> dict:
    """The JWT payload (the credential and its claims) as stored."""
    return _payload(row.jwt)


def download_name(row: BadgeCredential, extension: str) -> str:
    name = fold(row.certificate.snapshot.get("name", "")).replace(" ", "-") or "credential"
    return f"open-badge-{row.certificate.serial}-{name}.{extension}"


def baked_png(row: BadgeCredential) -> bytes:
    kind = _edition_kind(row.certificate)
    return baking.bake_png((STATIC_BADGES / f"{kind}.png").read_bytes(), row.jwt)


def _edition_kind(certificate: Certificate) -> str:
    kind = certificate.registration.edition.kind.value
    return kind if (STATIC_BADGES / f"{kind}.png").is_file() else "seasonal_school"


def linkedin_url(row: BadgeCredential) -> str:
    """LinkedIn's "Add license or certification" form, filled in."""
    snapshot = row.certificate.snapshot
    issued = datetime.fromisoformat(snapshot["issued_on"])
    query = {
        "startTask": "CERTIFICATION_NAME",
        "name": snapshot["edition_title"],
        "organizationName": snapshot.get("school_name") or current_app.config["SCHOOL_NAME"],
        "issueYear": issued.year,
        "issueMonth": issued.month,
        "certId": row.certificate.serial,
        "certUrl": snapshot["verify_url"],
    }
    return "https://www.linkedin.com/profile/add?" + urlencode(query)


def edition_for_achievement(slug: str) -> Edition:
    """An edition that awarded credentials (only those are published as achievements)."""
    edition = db.session.scalar(sa.select(Edition).where(Edition.slug == slug))
    awarded = edition is not None and db.session.scalar(
        sa.select(BadgeCredential.id)
        .join(Certificate, Certificate.id == BadgeCredential.certificate_id)
        .join(Registration, Registration.id == Certificate.registration_id)
        .where(Registration.edition_id == edition.id)
        .limit(1)
    )
    if not awarded:
        raise CredentialError(_("No such achievement."), "not_found", 404)
    return edition


# --------------------------------------------------------------------------------------------
# Publishing: keys and the status list


def jwks() -> dict:
    """Every published key (current and retired), public halves only."""
    ring = _ring_or_error()
    return {
        "keys": [k.public_jwk(documents.key_uri(k.key_id)) for k in ring.keys.values()],
    }


def public_key(key_id: str) -> dict:
    key = _ring_or_error().keys.get(key_id)
    if key is None:
        raise CredentialError(_("No such key."), "not_found", 404)
    return key.public_jwk(documents.key_uri(key_id))


def _ring_or_error():
    _signing_key()
    return key_ring()


def revoked_indexes(list_number: int) -> list[int]:
    low = (list_number - 1) * documents.STATUS_LIST_SIZE + 1
    high = list_number * documents.STATUS_LIST_SIZE
    ids = db.session.scalars(
        sa.select(BadgeCredential.id).where(
            BadgeCredential.id.between(low, high), BadgeCredential.revoked_at.is_not(None)
        )
    )
    return [documents.status_position(i)[1] for i in ids]


def status_list_jwt(list_number: int) -> str:
    """The signed status list credential `list_number` (built from the revoked rows)."""
    if list_number < 1:
        raise CredentialError(_("No such status list."), "not_found", 404)
    low = (list_number - 1) * documents.STATUS_LIST_SIZE + 1
    if list_number > 1 and not db.session.scalar(
        sa.select(sa.func.count(BadgeCredential.id)).where(BadgeCredential.id >= low)
    ):
        raise CredentialError(_("No such status list."), "not_found", 404)
    credential = documents.status_list_credential(
        list_number, revoked_indexes(list_number), utcnow()
    )
    return sign(credential, _signing_key())


# --------------------------------------------------------------------------------------------
# Verifying a credential someone hands us


PROBLEMS = {
    "empty": _l("Paste a credential or choose a file."),
    "unreadable": _l("This is not a signed credential (a VC-JWT, a .jwt file or a baked badge)."),
    "no_baked_credential": _l("This image holds no credential."),
    "unknown_key": _l("It was not signed with a key of %(school)s."),
    "bad_signature": _l("The signature does not match: the credential was altered."),
    "bad_claims": _l("The credential's claims do not match its content."),
    "other_issuer": _l("It was not issued by %(school)s."),
    "not_yet_valid": _l("The credential is not valid yet."),
}


@dataclass
class Verification:
    """What checking a credential found; `problem` is None when the signature holds."""

    problem: str | None = None
    credential: dict = field(default_factory=dict)
    key_id: str | None = None
    revoked: bool | None = None
    row: BadgeCredential | None = None

    @property
    def valid(self) -> bool:
        return self.problem is None and self.revoked is False

    def message(self) -> str:
        if self.problem is None:
            return ""
        return str(PROBLEMS[self.problem]) % {"school": current_app.config["SCHOOL_NAME"]}


def _b64json(segment: str) -> dict:
    try:
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValueError("not base64url JSON") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _payload(token: str) -> dict:
    return _b64json(token.split(".")[1])


def _check_signature(token: str) -> tuple[str | None, str | None, dict]:
    """(problem, key id, payload) of a Compact JWS against our published keys."""
    parts = token.split(".")
    if len(parts) != 3 or len(token) > MAX_TOKEN_CHARS:
        return "unreadable", None, {}
    try:
        header = _b64json(parts[0])
        payload = _b64json(parts[1])
    except ValueError:
        return "unreadable", None, {}
    kid = header.get("kid")
    prefix = documents.key_uri("")
    if header.get("alg") != ALGORITHM or not isinstance(kid, str) or not kid.startswith(prefix):
        return "unknown_key", None, payload
    key = _ring_or_error().keys.get(kid.removeprefix(prefix))
    if key is None:
        return "unknown_key", None, payload
    try:
        jws.deserialize_compact(token, key.key, algorithms=[ALGORITHM])
    except (JoseError, ValueError):
        return "bad_signature", key.key_id, payload
    return None, key.key_id, payload


def _claims_problem(payload: dict) -> str | None:
    try:
        issuer = payload["issuer"]
        issuer_id = issuer["id"] if isinstance(issuer, dict) else issuer
        valid_from = datetime.fromisoformat(payload["validFrom"].replace("Z", "+00:00"))
        if (
            payload["iss"] != issuer_id
            or payload["jti"] != payload["id"]
            or payload["sub"] != payload["credentialSubject"]["id"]
            or int(payload["nbf"]) != int(valid_from.timestamp())
        ):
            return "bad_claims"
    except (KeyError, TypeError, ValueError, AttributeError):
        return "bad_claims"
    if issuer_id != documents.issuer_id():
        return "other_issuer"
    if valid_from > datetime.now(UTC):
        return "not_yet_valid"
    return None


def _status_revoked(payload: dict) -> bool:
    """Read the credential's bit in our (signed) status list credential."""
    status = payload.get("credentialStatus") or {}
    url = str(status.get("statusListCredential", ""))
    prefix = documents.status_list_url(0)[:-1]
    try:
        list_number = int(url.removeprefix(prefix)) if url.startswith(prefix) else 0
        index = int(status.get("statusListIndex", -1))
    except ValueError:
        return True
    if list_number < 1 or not 0 <= index < documents.STATUS_LIST_SIZE:
        return True  # no status we can vouch for
    list_token = status_list_jwt(list_number)
    problem, _key_id, list_payload = _check_signature(list_token)
    if problem is not None:  # our own list must verify; fail closed if it does not
        return True
    bits = documents.decode_bitstring(list_payload["credentialSubject"]["encodedList"])
    return documents.bit_is_set(bits, index)


def verify(text: str | bytes) -> Verification:
    """Check a credential: a Compact JWS, or a file holding one (.jwt, baked PNG or SVG)."""
    if isinstance(text, bytes):
        try:
            text = baking.extract(text)
        except baking.BakingError:
            return Verification(problem="no_baked_credential")
    token = "".join((text or "").split())
    if not token:
        return Verification(problem="empty")
    problem, key_id, payload = _check_signature(token)
    result = Verification(problem=problem, credential=payload, key_id=key_id)
    if problem is not None:
        return result
    result.problem = _claims_problem(payload)
    if result.problem is not None:
        return result
    result.revoked = _status_revoked(payload)
    result.row = db.session.scalar(
        sa.select(BadgeCredential).where(BadgeCredential.credential_uri == payload["id"])
    )
    return result


def issue_missing() -> int:
    """Give every certificate issued before credentials existed its credential (idempotent).

    Revoked and superseded certificates get a credential that is revoked at once, so each
    certificate a verifier may meet has a status.
    """
    missing = db.session.scalars(
        sa.select(Certificate)
        .where(~sa.exists().where(BadgeCredential.certificate_id == Certificate.id))
        .order_by(Certificate.id)
    ).all()
    for certificate in missing:
        row = issue_for(certificate)
        if certificate.revoked_at is not None:
            revoke_for(certificate, certificate.revoke_category or "other")
        elif certificate.superseded_at is not None:
            revoke_for(certificate, "superseded")
        row.issued_at = certificate.issued_at
        db.session.commit()
    return len(missing)
