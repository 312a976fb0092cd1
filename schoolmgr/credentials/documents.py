"""The JSON documents of Open Badges 3.0: issuer profile, achievement, credential, status list.

Plain functions of plain values; URLs start from BASE_URL so that every process (web, worker,
CLI) writes the same ids. The documents' text is English (`inLanguage`), whoever issues them:
a signed credential must not depend on the issuing user's interface language.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app

from schoolmgr.models import Edition, EditionFormat, EditionKind
from schoolmgr.timeutils import to_utc
from schoolmgr.urls import base_url

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CONTEXTS = [VC_CONTEXT, OB_CONTEXT]

# Bitstring Status List: at least 131,072 entries (16 KB) per list, so that one list hides
# which credential a verifier asks about among many (herd privacy).
STATUS_LIST_SIZE = 131_072
# Credential n takes position (n * MULTIPLIER + OFFSET) mod size of its list: a bijection
# (the multiplier is odd, the size a power of two), so neighbours in issue order are spread
# over the list instead of sitting side by side.
_MULTIPLIER = 40_503
_OFFSET = 7_919


KIND_NAMES = {
    EditionKind.SEASONAL_SCHOOL: "Seasonal school",
    EditionKind.WEBINAR: "Webinar",
    EditionKind.HACKATHON: "Hackathon",
    EditionKind.WORKSHOP: "Workshop",
    EditionKind.NETWORKING: "Networking event",
    EditionKind.COACHING: "Coaching and mentoring",
}


def issuer_id() -> str:
    return f"{base_url()}/credentials/issuer"


def key_uri(key_id: str) -> str:
    """The JWT `kid`: a URL that answers the public JWK (Open Badges 3.0, 8.2.3)."""
    return f"{base_url()}/credentials/keys/{key_id}"


def achievement_id(edition_slug: str) -> str:
    return f"{base_url()}/credentials/achievements/{edition_slug}"


def status_list_url(list_number: int) -> str:
    return f"{base_url()}/credentials/status/{list_number}"


def badge_image_url(kind: str) -> str:
    if kind not in {k.value for k in EditionKind}:
        kind = EditionKind.SEASONAL_SCHOOL.value
    return f"{base_url()}/static/img/badges/{kind}.png"


def status_position(row_id: int) -> tuple[int, int]:
    """(list number from 1, index in that list) of the credential with this row id."""
    list_number, n = divmod(row_id - 1, STATUS_LIST_SIZE)
    return list_number + 1, (n * _MULTIPLIER + _OFFSET) % STATUS_LIST_SIZE


def isoformat(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def day_start(day: date, tz: str | ZoneInfo = "UTC") -> str:
    """The first moment of `day` where `tz` is (by default UTC's day), in UTC."""
    return isoformat(to_utc(day, time(0, 0), tz))


def identity_hash(email: str, salt: str) -> str:
    """Open Badges IdentityHash: sha256 over the identifier followed by the salt."""
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()


def issuer_profile() -> dict:
    config = current_app.config
    return {
        "id": issuer_id(),
        "type": ["Profile"],
        "name": config["SCHOOL_NAME"],
        "url": base_url() + "/",
        "email": config.get("CREDENTIAL_ISSUER_EMAIL") or config["MAIL_DEFAULT_SENDER"],
        "image": {
            "id": f"{base_url()}/static/img/badges/issuer.png",
            "type": "Image",
            "caption": config["SCHOOL_NAME"],
        },
    }


def _hours(value: float) -> str:
    return f"{value:g}"


def criteria_narrative(edition: Edition) -> str:
    """The certificate rule of the edition, in words (Markdown)."""
    lines = [
        f"Attend at least {edition.certificate_threshold}% of the planned sessions "
        "of the programme."
    ]
    mandatory = [em.module.name for em in edition.edition_modules if em.mandatory]
    if mandatory:
        lines.append(f"Attend the mandatory modules: {', '.join(mandatory)}.")
    if edition.excused_counts_as_attended:
        lines.append("Excused absences count as attended.")
    if edition.module_choice:
        lines.append("Only the modules the participant chose are counted.")
    lines.append("Programme staff may grant an exception for a documented reason (make-up work).")
    return "\n".join(f"- {line}" for line in lines)


def achievement(edition: Edition) -> dict:
    """The edition as an Open Badges Achievement."""
    modules = []
    total = 0.0
    for em in edition.edition_modules:
        hours = sum(s.duration_hours for s in em.sessions)
        total += hours
        modules.append(f"- {em.module.name}: {_hours(round(hours, 1))} h")
    place = "online" if edition.format == EditionFormat.ONLINE else (edition.venue or "")
    description = (
        f"{KIND_NAMES.get(edition.kind, 'Event')} of the {current_app.config['SCHOOL_NAME']}, "
        f"{edition.start_date.isoformat()} to {edition.end_date.isoformat()}"
        + (f", {place}." if place else ".")
    )
    if modules:
        description += f"\n\nModules ({_hours(round(total, 1))} hours planned):\n"
        description += "\n".join(modules)
    return {
        "id": achievement_id(edition.slug),
        "type": ["Achievement"],
        "achievementType": "CertificateOfCompletion",
        "name": edition.title,
        "description": description,
        "criteria": {
            "id": f"{base_url()}/editions/{edition.slug}",
            "narrative": criteria_narrative(edition),
        },
        "image": {
            "id": badge_image_url(edition.kind.value),
            "type": "Image",
            "caption": KIND_NAMES.get(edition.kind, "Event"),
        },
        "creator": issuer_profile(),
        "inLanguage": "en",
        "tag": [KIND_NAMES.get(edition.kind, "Event"), edition.format.value.replace("_", " ")],
    }


def open_badge_credential(
    *,
    credential_uri: str,
    subject_uri: str,
    snapshot: dict,
    edition: Edition,
    email: str | None,
    salt: str,
    pdf_sha256: str,
    status: tuple[int, int],
    edition_achievement: dict | None = None,
) -> dict:
    """The OpenBadgeCredential of one certificate snapshot (unsigned).

    `edition_achievement`: `achievement(edition)` if the caller built it already (bulk issuing).
    """
    list_number, index = status
    identifiers = [
        {
            "type": "IdentityObject",
            "identityType": "name",
            "hashed": False,
            "identityHash": snapshot["name"],
        }
    ]
    if email:
        identifiers.append(
            {
                "type": "IdentityObject",
                "identityType": "emailAddress",
                "hashed": True,
                "identityHash": identity_hash(email, salt),
                "salt": salt,
            }
        )
    modules = snapshot.get("modules", [])
    narrative = "\n".join(f"- {m['name']}: {_hours(m['hours'])} h" for m in modules)
    if modules:
        narrative += f"\n\nTotal: {_hours(snapshot['total_hours'])} hours"
    list_url = status_list_url(list_number)
    # Valid from the start of the day the certificate states, where the edition is held (so
    # never after the moment it was issued).
    valid_from = day_start(date.fromisoformat(snapshot["issued_on"]), edition.tz)
    return {
        "@context": CONTEXTS,
        "id": credential_uri,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"Certificate of attendance: {snapshot['edition_title']}",
        "description": (
            f"{snapshot['name']} attended {snapshot['edition_title']} "
            f"({snapshot['start_date']} to {snapshot['end_date']})."
        ),
        "issuer": issuer_profile(),
        "validFrom": valid_from,
        "awardedDate": valid_from,
        "credentialSubject": {
            "id": subject_uri,
            "type": ["AchievementSubject"],
            "identifier": identifiers,
            "achievement": edition_achievement or achievement(edition),
            "activityStartDate": day_start(date.fromisoformat(snapshot["start_date"])),
            "activityEndDate": day_start(date.fromisoformat(snapshot["end_date"])),
            "narrative": narrative,
        },
        "evidence": [
            {
                "id": snapshot["verify_url"],
                "type": ["Evidence"],
                "name": f"Certificate of attendance {snapshot['serial']}",
                "description": (
                    f"PDF certificate {snapshot['serial']}, verification code "
                    f"{snapshot['verification_code']}; SHA-256 of the PDF: {pdf_sha256}"
                ),
                "genre": "Certificate of attendance",
                "narrative": narrative,
            }
        ],
        "credentialStatus": {
            "id": f"{list_url}#{index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(index),
            "statusListCredential": list_url,
        },
    }


def jwt_claims(credential: dict) -> dict:
    """The credential as a JWT payload: the credential itself plus iss, jti, nbf, sub (8.2.4)."""
    valid_from = datetime.fromisoformat(credential["validFrom"].replace("Z", "+00:00"))
    return {
        **credential,
        "iss": issuer["id"] if isinstance(issuer := credential["issuer"], dict) else issuer,
        "jti": credential["id"],
        "nbf": int(valid_from.timestamp()),
        "sub": credential["credentialSubject"]["id"],
    }


def encode_bitstring(revoked_indexes: list[int], size: int = STATUS_LIST_SIZE) -> str:
    """Multibase base64url (no padding) of the GZIP-compressed bitstring; bit 0 is leftmost."""
    bits = bytearray(size // 8)
    for index in revoked_indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode().rstrip("=")


def decode_bitstring(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise ValueError("encodedList is not multibase base64url")
    data = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))


def bit_is_set(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(list_number: int, revoked_indexes: list[int], now: datetime) -> dict:
    url = status_list_url(list_number)
    return {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id(),
        "validFrom": isoformat(now),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_bitstring(revoked_indexes),
            "ttl": 300_000,
        },
    }
