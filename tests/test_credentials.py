"""Open Badges 3.0 credentials beside the PDF: signed, published, revocable, verifiable.

The app signs with joserfc; these tests verify with PyJWT + cryptography, read baked PNGs with
Pillow and validate against the required-field rules of the OB 3.0 data model (tests/data).
"""

import base64
import gzip
import hashlib
import io
import json
from datetime import UTC, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema
import jwt
import pytest
import sqlalchemy as sa
from PIL import Image

from schoolmgr.certificates import batches, files, issuing
from schoolmgr.certificates.errors import CertificateError
from schoolmgr.credentials import keys
from schoolmgr.credentials import services as credentials
from schoolmgr.models import (
    AttendanceStatus,
    BadgeCredential,
    Certificate,
    CertificateOverride,
    Role,
)
from schoolmgr.timeutils import local
from tests import factories

SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "ob_v3p0_achievementcredential.schema.json").read_text()
)
BASE = "http://127.0.0.1:5000"


@pytest.fixture
def issued(app):
    """A past edition, one participant who attended it all, and their issued certificate."""
    edition = factories.EditionFactory(past=True, title="Seasonal School on Rapid Innovation")
    em = factories.EditionModuleFactory(
        edition=edition, module=factories.ModuleFactory(name="Agile"), mandatory=True
    )
    sessions = []
    for i in range(3):
        session = factories.SessionFactory(edition_module=em)
        session.starts_at += timedelta(hours=2 * i)
        session.ends_at = session.starts_at + timedelta(hours=1, minutes=30)
        sessions.append(session)
    user = factories.UserFactory(full_name="Đorđe Čolić", email="Djordje.Colic@example.org")
    registration = factories.RegistrationFactory(edition=edition, user=user)
    for session in sessions:
        factories.AttendanceFactory(
            session=session, registration=registration, status=AttendanceStatus.PRESENT
        )
    staff = factories.UserFactory(role=Role.STAFF)
    factories.db.session.commit()
    certificate = issuing.issue_one(edition, registration.id, staff)
    return certificate, staff


def row_of(certificate) -> BadgeCredential:
    return credentials.credential_of_certificate(certificate)


def pyjwt_verify(client, token: str) -> dict:
    """Verify like an outside verifier: dereference `kid` over HTTP, check with PyJWT."""
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["typ"] == "JWT"
    assert set(header) == {"alg", "kid", "typ"}  # OB 3.0: no other JOSE headers
    response = client.get(urlsplit(header["kid"]).path)
    assert response.status_code == 200
    jwk = response.get_json()
    assert "d" not in jwk and jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"
    key = jwt.PyJWK.from_dict(jwk)
    return jwt.decode(
        token,
        key=key,
        algorithms=["EdDSA"],
        options={"require": ["iss", "sub", "nbf", "jti"], "verify_aud": False},
    )


def status_bits(client, url: str) -> bytes:
    token = client.get(urlsplit(url).path).get_data(as_text=True)
    claims = pyjwt_verify(client, token)
    assert "BitstringStatusListCredential" in claims["type"]
    subject = claims["credentialSubject"]
    assert subject["statusPurpose"] == "revocation"
    encoded = subject["encodedList"]
    assert encoded.startswith("u")  # multibase base64url
    raw = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
    return gzip.decompress(raw)


def is_revoked(client, credential: dict) -> bool:
    status = credential["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry"
    bits = status_bits(client, status["statusListCredential"])
    assert len(bits) * 8 >= 131_072
    index = int(status["statusListIndex"])
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def test_issued_credential_verifies_with_pyjwt_and_follows_ob3(client, issued):
    certificate, _staff = issued
    row = row_of(certificate)
    assert row is not None and row.jwt.count(".") == 2

    claims = pyjwt_verify(client, row.jwt)

    # JWT claims mapped from the credential (OB 3.0, 8.2.4)
    assert claims["iss"] == claims["issuer"]["id"] == f"{BASE}/credentials/issuer"
    assert claims["jti"] == claims["id"] == row.credential_uri
    assert claims["sub"] == claims["credentialSubject"]["id"]
    # Valid from the start of the day the certificate states, where its edition is held.
    issued_locally = local(certificate.issued_at, certificate.registration.edition.tz)
    day_start = issued_locally.replace(hour=0, minute=0, second=0, microsecond=0)
    assert claims["nbf"] == int(day_start.timestamp()) <= certificate.issued_at.timestamp()
    # Required fields and types
    assert claims["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert {"VerifiableCredential", "OpenBadgeCredential"} <= set(claims["type"])
    assert issued_locally.date().isoformat() == certificate.snapshot["issued_on"]
    assert claims["validFrom"] == day_start.astimezone(UTC).isoformat().replace("+00:00", "Z")
    achievement = claims["credentialSubject"]["achievement"]
    for name in ("id", "type", "name", "description", "criteria"):
        assert achievement[name], name
    assert "Achievement" in achievement["type"]
    assert achievement["name"] == "Seasonal School on Rapid Innovation"
    assert "at least 80%" in achievement["criteria"]["narrative"]
    assert "mandatory modules: Agile" in achievement["criteria"]["narrative"]
    assert "Agile: 4.5 h" in achievement["description"]
    assert achievement["image"]["id"].endswith("/static/img/badges/seasonal_school.png")
    jsonschema.validate(claims, SCHEMA)

    # Recipient: the name as printed, the email only as a salted hash
    identifiers = {i["identityType"]: i for i in claims["credentialSubject"]["identifier"]}
    assert identifiers["name"]["identityHash"] == "Đorđe Čolić"
    email_id = identifiers["emailAddress"]
    assert email_id["hashed"] is True and email_id["salt"]
    expected = hashlib.sha256(("djordje.colic@example.org" + email_id["salt"]).encode())
    assert email_id["identityHash"] == "sha256$" + expected.hexdigest()
    assert "example.org" not in json.dumps(claims).replace(BASE, "")

    # Evidence: the verification URL, the serial and the PDF's SHA-256
    evidence = claims["evidence"][0]
    pdf = files.pdf_path(certificate).read_bytes()
    assert evidence["id"] == certificate.snapshot["verify_url"]
    assert certificate.serial in evidence["name"]
    assert hashlib.sha256(pdf).hexdigest() in evidence["description"]
    assert is_revoked(client, claims) is False


def test_every_credential_also_passes_the_app_verifier_and_schema(client, issued):
    certificate, _staff = issued
    result = credentials.verify(row_of(certificate).jwt)
    assert result.problem is None and result.revoked is False and result.valid
    assert result.row.certificate_id == certificate.id


def test_public_documents(client, issued):
    certificate, _staff = issued
    profile = client.get("/credentials/issuer").get_json()
    assert profile["type"] == ["Profile"] and profile["name"]
    assert profile["id"] == f"{BASE}/credentials/issuer"
    jwks = client.get("/.well-known/jwks.json").get_json()
    assert [k["kid"] for k in jwks["keys"]] == [
        f"{BASE}/credentials/keys/{row_of(certificate).key_id}"
    ]
    assert all("d" not in k for k in jwks["keys"])
    slug = certificate.snapshot["edition_slug"]
    achievement = client.get(f"/credentials/achievements/{slug}").get_json()
    assert achievement["id"] == f"{BASE}/credentials/achievements/{slug}"
    assert client.get("/credentials/achievements/nothing-here").status_code == 404
    assert client.get("/credentials/status/2").status_code == 404
    assert client.get("/credentials/keys/unknown").status_code == 404
    badge = client.get("/static/img/badges/seasonal_school.png")
    assert badge.status_code == 200 and badge.data.startswith(b"\x89PNG")


def test_tampered_credential_fails(client, issued):
    certificate, _staff = issued
    token = row_of(certificate).jwt
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["identifier"][0]["identityHash"] = "Đorđe Čolič"  # one letter
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    tampered = f"{header}.{forged}.{signature}"
    # and a single character flipped in the encoded payload
    flipped = (
        f"{header}.{payload[:40]}{'A' if payload[40] != 'A' else 'B'}{payload[41:]}.{signature}"
    )

    for bad in (tampered, flipped):
        with pytest.raises(jwt.exceptions.PyJWTError):
            pyjwt_verify(client, bad)
        assert credentials.verify(bad).problem in ("bad_signature", "unreadable")

    response = client.post("/verify/credential", data={"credential": tampered})
    assert response.status_code == 200
    assert "Not valid" in response.get_data(as_text=True)
    assert "altered" in response.get_data(as_text=True)


def test_revoking_flips_the_status_bit_in_the_same_transaction(client, issued):
    certificate, staff = issued
    claims = pyjwt_verify(client, row_of(certificate).jwt)
    assert is_revoked(client, claims) is False

    issuing.revoke(certificate, staff, "issued_in_error", "Attendance typed twice")

    assert is_revoked(client, claims) is True
    assert row_of(certificate).revocation_reason == "issued_in_error"
    result = credentials.verify(row_of(certificate).jwt)
    assert result.problem is None and result.revoked is True
    page = client.post("/verify/credential", data={"credential": row_of(certificate).jwt})
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Revoked" in body and "Issued in error" in body


def test_reissue_revokes_the_old_credential_as_superseded(client, issued):
    certificate, staff = issued
    old = row_of(certificate)
    old_claims = pyjwt_verify(client, old.jwt)

    new_certificate = issuing.reissue(certificate, staff, "Name spelling corrected")

    old = row_of(certificate)
    new = row_of(new_certificate)
    assert old.revoked_at is not None and old.revocation_reason == "superseded"
    assert is_revoked(client, old_claims) is True
    new_claims = pyjwt_verify(client, new.jwt)
    assert is_revoked(client, new_claims) is False
    assert new_claims["id"] != old_claims["id"]
    assert new_certificate.serial in new_claims["evidence"][0]["name"]


def test_a_failed_credential_leaves_no_half_issued_certificate(app, issued, monkeypatch):
    """Production without a signing key: the certificate is refused with the reason."""
    certificate, staff = issued
    registration = factories.RegistrationFactory(
        edition=certificate.registration.edition,
        certificate_override=CertificateOverride.GRANTED,
        certificate_override_reason="Make-up work accepted",
    )
    factories.db.session.commit()
    app.config["CREDENTIAL_KEYS_DIR"] = str(Path(app.config["STORAGE_DIR"]) / "no-keys")
    app.config["CREDENTIAL_AUTO_KEY"] = False
    keys.forget_keys()
    before = factories.db.session.scalar(sa.select(sa.func.count(Certificate.id)))

    with pytest.raises(CertificateError) as exc:
        issuing.issue_one(registration.edition, registration.id, staff)

    assert exc.value.code == "no_signing_key"
    factories.db.session.rollback()
    assert factories.db.session.scalar(sa.select(sa.func.count(Certificate.id))) == before


def test_rotation_keeps_old_credentials_verifiable(app, client, issued, runner):
    certificate, staff = issued
    old_row = row_of(certificate)
    old_key = old_row.key_id

    result = runner.invoke(args=["credentials", "generate-key", "--id", "20991231-new"])
    assert result.exit_code == 0, result.output
    keys.forget_keys()  # what a restart does
    assert keys.key_ring().signing.key_id == "20991231-new"
    new_certificate = issuing.reissue(certificate, staff, "Hours corrected")
    assert row_of(new_certificate).key_id == "20991231-new"

    result = runner.invoke(args=["credentials", "retire-key", old_key])
    assert result.exit_code == 0, result.output
    keys.forget_keys()
    assert not keys.key_ring().keys[old_key].private

    kids = [k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]]
    assert kids == [
        f"{BASE}/credentials/keys/{old_key}",
        f"{BASE}/credentials/keys/20991231-new",
    ]
    assert pyjwt_verify(client, old_row.jwt)["jti"] == old_row.credential_uri
    assert credentials.verify(old_row.jwt).problem is None
    assert credentials.verify(row_of(new_certificate).jwt).valid
    listing = runner.invoke(args=["credentials", "keys"])
    assert f"{old_key}\tpublic only" in listing.output
    assert "20991231-new\tsigns" in listing.output


def test_holder_downloads_jwt_json_and_baked_badge(client, login, issued):
    certificate, _staff = issued
    row = row_of(certificate)
    login(certificate.registration.user)

    page = client.get("/me/certificates").get_data(as_text=True)
    assert f"/me/certificates/{certificate.id}/badge.png" in page
    jwt_file = client.get(f"/me/certificates/{certificate.id}/credential.jwt")
    assert jwt_file.status_code == 200 and jwt_file.get_data(as_text=True) == row.jwt
    assert ".jwt" in jwt_file.headers["Content-Disposition"]
    decoded = client.get(f"/me/certificates/{certificate.id}/credential.json").get_json()
    assert decoded["id"] == row.credential_uri
    jsonschema.validate(decoded, SCHEMA)

    png = client.get(f"/me/certificates/{certificate.id}/badge.png")
    assert png.status_code == 200 and png.mimetype == "image/png"
    image = Image.open(io.BytesIO(png.data))
    image.load()
    assert image.text["openbadgecredential"] == row.jwt  # Pillow reads the iTXt chunk
    assert image.size == (512, 512)

    # the baked badge and the .jwt file verify on the public page
    for name, content in (("badge.png", png.data), ("c.jwt", jwt_file.data)):
        response = client.post(
            "/verify/credential",
            data={"file": (io.BytesIO(content), name)},
            content_type="multipart/form-data",
        )
        body = response.get_data(as_text=True)
        assert response.status_code == 200 and "Valid" in body, name
        assert "Đorđe Čolić" in body and certificate.serial in body


def test_linkedin_link_is_prefilled(client, login, issued):
    certificate, _staff = issued
    login(certificate.registration.user)
    page = client.get("/me/certificates").get_data(as_text=True)
    start = page.index("https://www.linkedin.com/profile/add?")
    url = page[start : page.index('"', start)].replace("&amp;", "&")
    query = parse_qs(urlsplit(url).query)
    assert query["startTask"] == ["CERTIFICATION_NAME"]
    assert query["name"] == ["Seasonal School on Rapid Innovation"]
    assert query["organizationName"] == [certificate.snapshot["school_name"]]
    issued_on = certificate.snapshot["issued_on"]
    assert query["issueYear"] == [issued_on[:4]]
    assert query["issueMonth"] == [str(int(issued_on[5:7]))]
    assert query["certId"] == [certificate.serial]
    assert query["certUrl"] == [certificate.snapshot["verify_url"]]


def test_others_get_404_for_a_credential(client, login, issued):
    certificate, staff = issued
    login(factories.UserFactory())
    for suffix in ("credential.jwt", "credential.json", "badge.png"):
        assert client.get(f"/me/certificates/{certificate.id}/{suffix}").status_code == 404


def test_verify_page_offers_the_credential_form_and_refuses_junk(client, issued):
    page = client.get("/verify").get_data(as_text=True)
    assert 'action="/verify/credential"' in page
    assert "Paste the credential" in page
    for junk in ("", "not a credential", "a.b.c", "<svg></svg>"):
        response = client.post("/verify/credential", data={"credential": junk})
        assert response.status_code == 400, junk
        assert "is-invalid" in response.get_data(as_text=True)
    png_without = (Path(__file__).parents[1] / "static/img/badges/webinar.png").read_bytes()
    response = client.post(
        "/verify/credential",
        data={"file": (io.BytesIO(png_without), "plain.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "This image holds no credential" in response.get_data(as_text=True)


def test_bulk_issue_gives_every_certificate_a_credential(app, issued):
    certificate, staff = issued
    edition = certificate.registration.edition
    for _ in range(3):
        factories.RegistrationFactory(
            edition=edition,
            certificate_override=CertificateOverride.GRANTED,
            certificate_override_reason="Make-up work accepted",
        )
    factories.db.session.commit()
    batch = batches.start_batch(edition, staff)
    batches.run_batch(batch.id)
    certificates = factories.db.session.scalars(sa.select(Certificate)).all()
    assert len(certificates) == 4
    rows = credentials.credentials_by_certificate(certificates)
    assert set(rows) == {c.id for c in certificates}
    assert all(credentials.verify(r.jwt).valid for r in rows.values())
    positions = {
        json.loads(base64.urlsafe_b64decode(r.jwt.split(".")[1] + "=="))["credentialStatus"][
            "statusListIndex"
        ]
        for r in rows.values()
    }
    assert len(positions) == 4  # one bit each


def test_issue_missing_backfills_old_certificates(app, runner, issued):
    certificate, _staff = issued
    old = factories.CertificateFactory(
        registration=factories.RegistrationFactory(edition=certificate.registration.edition),
        snapshot=dict(certificate.snapshot, serial="OLD-1", name="Ana Anić"),
        revoked_at=certificate.issued_at,
        revoke_category="misconduct",
    )
    factories.db.session.commit()
    result = runner.invoke(args=["credentials", "issue-missing"])
    assert "Credentials issued: 1" in result.output
    row = row_of(old)
    assert row.revocation_reason == "misconduct"
    assert credentials.verify(row.jwt).revoked is True
    assert runner.invoke(args=["credentials", "issue-missing"]).output.endswith(": 0\n")


def test_svg_baking_round_trip_and_one_chunk_per_png(client, issued):
    from schoolmgr.credentials import baking

    certificate, _staff = issued
    token = row_of(certificate).jwt
    badges = Path(__file__).parents[1] / "static" / "img" / "badges"
    svg = baking.bake_svg((badges / "workshop.svg").read_text(), token)
    assert 'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in svg
    response = client.post(
        "/verify/credential",
        data={"file": (io.BytesIO(svg.encode()), "badge.svg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and "Valid" in response.get_data(as_text=True)

    twice = baking.bake_png(baking.bake_png((badges / "webinar.png").read_bytes(), "a.b.c"), token)
    assert twice.count(b"openbadgecredential") == 1
    assert Image.open(io.BytesIO(twice)).text["openbadgecredential"] == token
