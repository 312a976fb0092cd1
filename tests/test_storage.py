"""The storage interface, the same tests on the local folder and on S3 (moto's server)."""

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schoolmgr.storage import MissingFileError, content_disposition, get_storage, make_storage
from schoolmgr.storage.maintenance import remove_orphans
from tests import factories

PDF = b"%PDF-1.4\n% stored\n%%EOF\n"


@pytest.fixture
def storage_settings(any_storage_settings):
    return any_storage_settings


@pytest.fixture
def storage(app):
    return get_storage()


def test_save_then_read_back(storage):
    storage.save("materials/a1", PDF)
    assert storage.exists("materials/a1")
    assert storage.size("materials/a1") == len(PDF)
    assert storage.read_bytes("materials/a1") == PDF
    assert storage.sha256("materials/a1") == hashlib.sha256(PDF).hexdigest()
    storage.save("materials/a1", b"newer")  # replaces
    assert storage.read_bytes("materials/a1") == b"newer"


def test_missing_key(storage):
    assert not storage.exists("materials/none")
    with pytest.raises(MissingFileError):
        storage.read_bytes("materials/none")
    with pytest.raises(MissingFileError):
        storage.size("materials/none")
    storage.delete("materials/none")  # nothing to do, no error


def test_delete(storage):
    storage.save("certificates/x.pdf", PDF)
    storage.delete("certificates/x.pdf")
    assert not storage.exists("certificates/x.pdf")


@pytest.mark.parametrize("key", ["", "/etc/passwd", "materials/../secret", "materials//a", "."])
def test_keys_cannot_leave_the_storage(storage, key):
    with pytest.raises(ValueError):
        storage.save(key, b"x")


def test_put_file_moves_a_local_file_in(storage, tmp_path):
    source = tmp_path / "upload"
    source.write_bytes(PDF * 1000)
    storage.put_file("materials/big", source)
    assert not source.exists()
    assert storage.read_bytes("materials/big") == PDF * 1000


def test_list_one_folder(storage):
    storage.save("materials/m1", b"1")
    storage.save("materials/m2", b"22")
    storage.save("certificates/c1.pdf", b"333")
    listed = {o.key: o.size for o in storage.list("materials/")}
    assert listed == {"materials/m1": 1, "materials/m2": 2}
    (only,) = storage.list("certificates/")
    assert only.modified > datetime.now(UTC) - timedelta(minutes=5)


def test_send_streams_with_the_headers_of_send_file(storage, app):
    storage.save("certificates/c.pdf", PDF)
    with app.test_request_context():
        response = storage.send(
            "certificates/c.pdf",
            mimetype="application/pdf",
            download_name="certificate-Čolić.pdf",
            as_attachment=True,
        )
        response.direct_passthrough = False
        assert response.get_data() == PDF
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Length"] == str(len(PDF))
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=certificate-Colic.pdf; "
        "filename*=UTF-8''certificate-%C4%8Coli%C4%87.pdf"
    )
    with app.test_request_context(), pytest.raises(MissingFileError):
        storage.send("certificates/no.pdf", mimetype="a/b", download_name="n", as_attachment=True)


def test_content_disposition_inline_and_ascii():
    assert content_disposition("a b.pdf", False) == 'inline; filename="a b.pdf"'


def test_orphans_older_than_the_grace_period_are_removed(storage, app):
    kept = factories.MaterialFactory(stored_name="kept", sha256=hashlib.sha256(b"k").hexdigest())
    storage.save(f"materials/{kept.stored_name}", b"k")
    storage.save("materials/orphan", b"o")
    storage.save("certificates/orphan.pdf", b"o")
    assert remove_orphans(storage, timedelta(hours=1)) == 0  # too young: may be mid-commit
    later = datetime.now(UTC) + timedelta(hours=2)
    assert remove_orphans(storage, timedelta(hours=1), now=later) == 2
    assert storage.exists("materials/kept")
    assert not storage.exists("materials/orphan")
    assert not storage.exists("certificates/orphan.pdf")


def test_cleanup_command(app, storage, runner):
    storage.save("materials/orphan", b"o")
    result = runner.invoke(args=["storage", "cleanup", "--hours", "0"])
    assert result.exit_code == 0, result.output
    assert "removed=1" in result.output
    assert not storage.exists("materials/orphan")


def test_local_write_failure_leaves_no_file(app, monkeypatch):
    storage = make_storage(app.config, "local")

    def broken_replace(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        storage.save("certificates/x.pdf", PDF)
    folder = Path(app.config["STORAGE_DIR"]) / "certificates"
    assert list(folder.iterdir()) == []
