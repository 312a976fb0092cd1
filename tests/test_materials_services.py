"""Material rules that are easier to show at the service level: atomic storage, access, types."""

import io
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from schoolmgr.extensions import db
from schoolmgr.materials import archive, editing, uploads, visibility
from schoolmgr.materials.errors import MaterialError
from schoolmgr.models import EditionStatus, Material, MaterialVisibility, Role

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def em(make_edition_module, make_user):
    return make_edition_module(trainers=[make_user(trainer=True)])


def files_on_disk(app) -> list[Path]:
    folder = Path(app.config["STORAGE_DIR"]) / "materials"
    return list(folder.iterdir()) if folder.exists() else []


def test_database_failure_leaves_no_file_behind(app, em, monkeypatch):
    trainer = em.trainers[0]

    def broken_commit():
        raise sa.exc.OperationalError("COMMIT", {}, Exception("database went away"))

    monkeypatch.setattr(db.session, "commit", broken_commit)
    with pytest.raises(sa.exc.OperationalError):
        editing.upload_file(em, io.BytesIO(PDF), "a.pdf", title="A", by=trainer)
    monkeypatch.undo()
    assert files_on_disk(app) == []
    assert db.session.scalar(sa.select(sa.func.count(Material.id))) == 0


def test_upload_stores_under_generated_name_with_hash(app, em):
    material = editing.upload_file(
        em, io.BytesIO(PDF), "Čolić notes.pdf", title="Notes", by=em.trainers[0]
    )
    assert material.size == len(PDF)
    assert len(material.sha256) == 64
    assert [p.name for p in files_on_disk(app)] == [material.stored_name]
    assert "Čolić" not in material.stored_name


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "no_file"),
        ("a/b.pdf", "bad_name"),
        ("a\\b.pdf", "bad_name"),
        ("..pdf", "bad_name"),
        ("bad\x00name.pdf", "bad_name"),
        ("x" * 250 + ".pdf", "bad_name"),
        ("README", "bad_name"),
    ],
)
def test_odd_names_are_refused(em, name, code):
    with pytest.raises(MaterialError) as exc:
        uploads.clean_filename(name)
    assert exc.value.code == code


def test_missing_title_and_bad_url(em):
    with pytest.raises(MaterialError) as exc:
        editing.add_link(em, "https://example.org", title="  ", by=em.trainers[0])
    assert exc.value.code == "no_title"
    for url in ("ftp://example.org/x", "example.org", "https://"):
        with pytest.raises(MaterialError) as exc:
            editing.add_link(em, url, title="X", by=em.trainers[0])
        assert exc.value.code == "bad_url"


def test_earlier_versions_cannot_be_changed_or_deleted(em):
    trainer = em.trainers[0]
    first = editing.add_link(em, "https://example.org/1", title="Board", by=trainer)
    second = editing.replace_material(first, by=trainer, url="https://example.org/2")
    assert [v.version for v in editing.versions(first)] == [2, 1]
    for action in (
        lambda: editing.replace_material(first, by=trainer, url="https://example.org/3"),
        lambda: editing.delete_material(first, by=trainer),
    ):
        with pytest.raises(MaterialError) as exc:
            action()
        assert exc.value.code == "not_current"
    editing.delete_material(second, by=trainer)
    with pytest.raises(MaterialError) as exc:
        editing.delete_material(second, by=trainer)
    assert exc.value.code == "deleted"
    assert visibility.current_materials(em) == []


def test_draft_edition_materials_hidden_even_when_public(em, make_user, make_registration):
    material = editing.add_link(
        em,
        "https://example.org",
        title="Board",
        visibility=MaterialVisibility.PUBLIC,
        by=em.trainers[0],
    )
    em.edition.status = EditionStatus.DRAFT
    db.session.commit()
    participant = make_registration(edition=em.edition).user
    assert not visibility.may_view(participant, material)
    assert visibility.may_view(em.trainers[0], material)
    assert visibility.may_view(make_user(role=Role.STAFF), material)


def test_zip_names_are_unique(app, make_edition_module, make_user):
    trainer = make_user(trainer=True)
    em_a = make_edition_module(trainers=[trainer])
    a = editing.upload_file(em_a, io.BytesIO(PDF), "same.pdf", title="A", by=trainer)
    em_b = make_edition_module(trainers=[trainer])
    b = editing.upload_file(em_b, io.BytesIO(PDF), "same.pdf", title="B", by=trainer)
    out = io.BytesIO()
    archive.write_zip([a, b], out)
    assert zipfile.ZipFile(out).namelist() == ["same.pdf", "same (2).pdf"]


def test_clean_uploads_removes_only_abandoned_partial_uploads(app, runner, make_edition_module):
    import os
    import time

    make_edition_module()
    with app.app_context():
        folder = uploads.storage_dir()
    stale, fresh, stored = folder / ".upload-stale", folder / ".upload-fresh", folder / "abc123"
    for path in (stale, fresh, stored):
        path.write_bytes(b"x")
    two_days_ago = time.time() - 2 * 86400
    for path in (stale, stored):
        os.utime(path, (two_days_ago, two_days_ago))

    result = runner.invoke(args=["materials", "clean-uploads"])

    assert result.exit_code == 0 and "removed=1" in result.output
    assert not stale.exists()
    assert fresh.exists() and stored.exists()  # an upload in progress; a stored material
