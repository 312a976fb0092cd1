"""The school's Ed25519 signing keys: read from files (or the environment), never the database.

A key directory (CREDENTIAL_KEYS_DIR) holds one PEM file per key, named `<kid>.pem`:
- a private key (`flask credentials generate-key` writes one) can sign and is published;
- a public key only (what is left of a retired key) is published, so the credentials it
  signed stay verifiable.
The key that signs is CREDENTIAL_SIGNING_KEY_ID, or else the newest private key (file names
start with the date, so the newest sorts last). CREDENTIAL_SIGNING_KEY_PEM, when set, holds the
signing private key itself (a container secret); its id is its JWK thumbprint.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from joserfc.errors import SecurityWarning
from joserfc.jwk import OKPKey

# RFC 9864 deprecates "EdDSA" in favour of "Ed25519", but Open Badges 3.0 verifiers (and the
# issue we implement) expect "EdDSA" for Ed25519 keys: same signature, older name.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)

ALGORITHM = "EdDSA"
KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class SigningKeyError(Exception):
    """The signing keys are missing or unreadable."""


@dataclass(frozen=True)
class SchoolKey:
    key_id: str
    key: OKPKey
    private: bool

    def public_jwk(self, kid_uri: str) -> dict:
        """The public JWK (never `d`), with `kid` set to the URI that dereferences to it."""
        jwk = self.key.as_dict(private=False)
        jwk.pop("d", None)
        return {**jwk, "kid": kid_uri, "alg": ALGORITHM, "use": "sig"}


@dataclass(frozen=True)
class KeyRing:
    signing: SchoolKey
    keys: dict[str, SchoolKey]


def keys_dir() -> Path:
    configured = current_app.config.get("CREDENTIAL_KEYS_DIR")
    if configured:
        return Path(configured)
    # Next to the stored files by default (instance/credential-keys in development).
    return Path(current_app.config["STORAGE_DIR"]).resolve().parent / "credential-keys"


def _load(path: Path) -> SchoolKey:
    key_id = path.name.removesuffix(".pem")
    if not KEY_ID_PATTERN.match(key_id):
        raise SigningKeyError(
            f"Key file name {path.name!r} is not <kid>.pem (letters, digits, - _)"
        )
    try:
        key = OKPKey.import_key(path.read_bytes())
    except Exception as exc:
        raise SigningKeyError(f"{path} is not an Ed25519 PEM key: {exc}") from exc
    if key.as_dict(private=False).get("crv") != "Ed25519":
        raise SigningKeyError(f"{path} is not an Ed25519 key")
    return SchoolKey(key_id, key, key.is_private)


def generate_key(directory: Path, key_id: str | None = None) -> tuple[str, Path]:
    """Write a new Ed25519 private key as `<kid>.pem` (mode 0600); return (kid, path)."""
    key = OKPKey.generate_key("Ed25519")
    key_id = key_id or f"{datetime.now(UTC):%Y%m%d}-{key.thumbprint()[:12]}"
    if not KEY_ID_PATTERN.match(key_id):
        raise SigningKeyError("A key id is 1-64 letters, digits, '-' or '_'.")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{key_id}.pem"
    if path.exists():
        raise SigningKeyError(f"{path} exists already.")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.as_pem(private=True))
    return key_id, path


def retire_key(directory: Path, key_id: str) -> Path:
    """Keep only the public half of a key: it stays published but can no longer sign."""
    path = directory / f"{key_id}.pem"
    school_key = _load(path)
    public_pem = school_key.key.as_pem(private=False)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(public_pem)
    os.replace(tmp, path)
    return path


def _read_ring() -> KeyRing:
    config = current_app.config
    directory = keys_dir()
    keys: dict[str, SchoolKey] = {}
    if directory.is_dir():
        for path in sorted(directory.glob("*.pem")):
            school_key = _load(path)
            keys[school_key.key_id] = school_key
    signing = None
    pem = config.get("CREDENTIAL_SIGNING_KEY_PEM")
    if pem:
        key = OKPKey.import_key(pem.encode() if isinstance(pem, str) else pem)
        signing = SchoolKey(key.thumbprint()[:43], key, True)
        keys[signing.key_id] = signing
    elif config.get("CREDENTIAL_SIGNING_KEY_ID"):
        signing = keys.get(config["CREDENTIAL_SIGNING_KEY_ID"])
        if signing is None or not signing.private:
            raise SigningKeyError(
                f"CREDENTIAL_SIGNING_KEY_ID={config['CREDENTIAL_SIGNING_KEY_ID']} names no "
                f"private key in {directory}."
            )
    else:
        private = [k for k in keys.values() if k.private]
        signing = private[-1] if private else None
    if signing is None:
        if not config.get("CREDENTIAL_AUTO_KEY"):
            raise SigningKeyError(
                f"No credential signing key in {directory}: run `flask credentials generate-key`."
            )
        # Development and tests: make one on first use rather than refuse to issue.
        generate_key(directory)
        return _read_ring()
    return KeyRing(signing, keys)


def key_ring() -> KeyRing:
    """The keys, read once per app (restart the app to pick up a rotation)."""
    ring = current_app.extensions.get("credential_keys")
    if ring is None:
        ring = _read_ring()
        current_app.extensions["credential_keys"] = ring
    return ring


def forget_keys() -> None:
    """Read the key files again on next use (after generate-key in the same process)."""
    current_app.extensions.pop("credential_keys", None)
