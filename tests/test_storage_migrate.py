"""`flask storage migrate --to s3`: every file copied, SHA-256 checked, damage reported."""

import hashlib

import pytest

from schoolmgr.storage import make_storage
from tests import factories


@pytest.fixture
def storage_settings(s3_storage_settings):
    # S3 settings present, the app still on local storage: the state before a migration.
    return {**s3_storage_settings, "STORAGE_BACKEND": "local"}


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def test_migrate_copies_and_verifies(app, runner):
    local = make_storage(app.config, "local")
    s3 = make_storage(app.config, "s3")
    material = factories.MaterialFactory(stored_name="m1", sha256=sha(b"slides"))
    certificate = factories.CertificateFactory(pdf_name="c1.pdf", sha256=sha(b"%PDF c1"))
    local.save("materials/m1", b"slides")
    local.save(f"certificates/{certificate.pdf_name}", b"%PDF c1")

    result = runner.invoke(args=["storage", "migrate", "--to", "s3"])
    assert result.exit_code == 0, result.output
    assert "copied=2 already_there=0 missing=0 mismatched=0" in result.output
    assert s3.read_bytes(f"materials/{material.stored_name}") == b"slides"
    assert s3.read_bytes("certificates/c1.pdf") == b"%PDF c1"

    again = runner.invoke(args=["storage", "migrate", "--to", "s3"])
    assert "copied=0 already_there=2" in again.output


def test_migrate_reports_damaged_and_missing_files(app, runner):
    local = make_storage(app.config, "local")
    s3 = make_storage(app.config, "s3")
    factories.MaterialFactory(stored_name="damaged", sha256=sha(b"original"))
    factories.MaterialFactory(stored_name="gone", sha256=sha(b"x"))
    local.save("materials/damaged", b"bit rot")

    result = runner.invoke(args=["storage", "migrate", "--to", "s3"])
    assert result.exit_code == 1
    assert "SHA-256 mismatch: materials/damaged" in result.output
    assert "missing in source: materials/gone" in result.output
    assert not s3.exists("materials/damaged")
