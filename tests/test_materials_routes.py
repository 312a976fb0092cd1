"""Materials as trainers, staff and participants use them through the pages."""

import io
import zipfile
from pathlib import Path
from urllib.parse import unquote

import pytest

from schoolmgr.extensions import db
from schoolmgr.models import (
    AuditEvent,
    EditionStatus,
    Material,
    MaterialVisibility,
    RegistrationStatus,
    Role,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03" + b"\x00" * 60
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 60
GIF = b"GIF89a" + b"\x00" * 40


def docx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("_rels/.rels", "<Relationships/>")
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def odt_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", "<office:document-content/>")
    return out.getvalue()


@pytest.fixture
def world(make_edition, make_edition_module, make_user, make_registration):
    edition = make_edition(module_choice=True, slug="school-2026")
    trainer = make_user(trainer=True)
    other_trainer = make_user(trainer=True)
    em = make_edition_module(edition=edition, trainers=[trainer], module__slug="agile")
    other_em = make_edition_module(edition=edition, trainers=[other_trainer])
    participant = make_registration(edition=edition, modules=[em]).user
    outsider = make_registration(edition=edition, modules=[other_em]).user
    return {
        "edition": edition,
        "em": em,
        "other_em": other_em,
        "trainer": trainer,
        "other_trainer": other_trainer,
        "participant": participant,
        "outsider": outsider,
    }


def upload(client, em, content, name, title="Slides", **extra):
    data = {
        "kind": "file",
        "title": title,
        "position": "0",
        "visibility": "participants",
        "file": (io.BytesIO(content), name),
        **extra,
    }
    return client.post(
        f"/trainer/modules/{em.id}/materials", data=data, content_type="multipart/form-data"
    )


def stored_files(app) -> list[Path]:
    folder = Path(app.config["STORAGE_DIR"]) / "materials"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_trainer_uploads_pdf_and_participant_downloads_it(client, login, world, app):
    login(world["trainer"])
    response = upload(client, world["em"], PDF, "Уводна презентација.pdf")
    assert response.status_code == 302
    material = db.session.scalar(db.select(Material))
    assert material.media_type == "application/pdf"
    assert material.original_name == "Уводна презентација.pdf"
    assert material.stored_name != material.original_name
    assert [p.name for p in stored_files(app)] == [material.stored_name]
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="material.upload"))
    material = db.session.scalar(db.select(Material))
    assert (event.target_type, event.target_id) == ("material", material.id)

    login(world["participant"])
    page = client.get("/editions/school-2026/modules/agile")
    assert "Slides" in page.text
    response = client.get(f"/materials/{material.id}/download")
    assert response.status_code == 200
    assert response.data == PDF
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]


def test_participant_of_other_module_and_anonymous_are_refused(client, login, world):
    material = add_pdf(client, login, world)
    login(world["outsider"])
    assert client.get(f"/materials/{material.id}/download").status_code == 403
    page = client.get("/editions/school-2026/modules/agile")
    assert "Slides" not in page.text
    client.post("/logout")
    with client.session_transaction() as s:
        s.clear()
    response = client.get(f"/materials/{material.id}/download")
    assert response.status_code == 302
    assert response.location.startswith("/login?next=")
    assert f"/materials/{material.id}/download" in unquote(response.location)


def test_public_material_is_visible_to_anyone(client, login, world):
    material = add_pdf(client, login, world)
    material.visibility = MaterialVisibility.PUBLIC
    db.session.commit()
    with client.session_transaction() as s:
        s.clear()
    assert client.get(f"/materials/{material.id}/download").status_code == 200


def add_pdf(client, login, world, name="slides.pdf"):
    login(world["trainer"])
    assert upload(client, world["em"], PDF, name).status_code == 302
    return db.session.scalar(db.select(Material).order_by(Material.id.desc()))


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.pdf", "The file is empty"),
        (PNG, "photo.pdf", "“photo.pdf” is not a PDF: its content is a PNG image."),
        (EXE, "slides.pdf", "“slides.pdf” is not a PDF: its content is a Windows program."),
        (ELF, "notes.txt", "“notes.txt” is not a text file: its content is a Linux program."),
        (EXE, "tool.exe", "“tool.exe” is not a type of file we accept: its content is a Windows"),
        (GIF, "logo.png", "“logo.png” is not a PNG image: its content is an image."),
        (b"\x00\x01\x02binary" * 9, "data.pdf", "its content is not a type of file we recognise"),
        (PDF, "../../etc/passwd.pdf", "not accepted"),
        (PDF, ".hidden.pdf", "not accepted"),
        (PDF, "noextension", "needs an extension"),
        (b"PK\x03\x04garbage-not-a-zip" + b"\x00" * 40, "broken.docx", "damaged"),
    ],
)
def test_bad_uploads_get_a_clear_message_and_leave_nothing(
    client, login, world, app, content, name, message
):
    login(world["trainer"])
    response = upload(client, world["em"], content, name)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(Material.id))) == 0
    assert stored_files(app) == []


def test_office_and_text_formats_are_recognised(client, login, world):
    login(world["trainer"])
    assert upload(client, world["em"], docx_bytes(), "handout.docx", title="A").status_code == 302
    assert upload(client, world["em"], odt_bytes(), "notes.odt", title="B").status_code == 302
    text = "Čolić, Ђурђевић – notes\n".encode()
    assert upload(client, world["em"], text, "readme.txt", title="C").status_code == 302
    types = db.session.scalars(db.select(Material.media_type).order_by(Material.id)).all()
    assert types == [
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.oasis.opendocument.text",
        "text/plain; charset=utf-8",
    ]
    # A docx renamed to .odt is refused.
    response = upload(client, world["em"], docx_bytes(), "disguised.odt", title="D")
    assert (
        "“disguised.odt” is not an OpenDocument text: its content is a Word (DOCX) document."
        in response.get_data(as_text=True)
    )


def test_same_file_name_twice_is_refused(client, login, world, app):
    add_pdf(client, login, world)
    response = upload(client, world["em"], PDF, "SLIDES.pdf", title="Again")
    assert response.status_code == 400
    assert "already among this module" in response.get_data(as_text=True)
    assert len(stored_files(app)) == 1


def test_too_large_upload_is_explained(client, login, world, app):
    app.config["MAX_UPLOAD_MB"] = 1
    login(world["trainer"])
    response = upload(client, world["em"], b"%PDF-" + b"x" * (1024 * 1024 + 10), "big.pdf")
    assert response.status_code == 413
    assert "larger than the limit of 1 MB" in response.get_data(as_text=True)
    assert stored_files(app) == []


def test_request_over_max_content_length_gets_a_413_page(client, login, world, app):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    login(world["trainer"])
    response = upload(client, world["em"], PDF + b"x" * 4096, "big.pdf")
    assert response.status_code == 413
    assert "Files up to" in response.get_data(as_text=True)


def test_link_material(client, login, world):
    login(world["trainer"])
    bad = client.post(
        f"/trainer/modules/{world['em'].id}/materials",
        data={
            "kind": "link",
            "title": "Board",
            "url": "javascript:alert(1)",
            "position": 0,
            "visibility": "participants",
        },
    )
    assert bad.status_code == 400
    ok = client.post(
        f"/trainer/modules/{world['em'].id}/materials",
        data={
            "kind": "link",
            "title": "Board",
            "url": "https://miro.com/board",
            "position": 0,
            "visibility": "participants",
        },
    )
    assert ok.status_code == 302
    link = db.session.scalar(db.select(Material))
    login(world["participant"])
    response = client.get(f"/materials/{link.id}/download")
    assert response.status_code == 302
    assert response.location == "https://miro.com/board"


def test_replace_keeps_earlier_versions_for_trainers(client, login, world):
    first = add_pdf(client, login, world)
    response = client.post(
        f"/trainer/materials/{first.id}/replace",
        data={"file": (io.BytesIO(PDF + b"% v2\n"), "slides-v2.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    db.session.refresh(first)
    second = first.replaced_by
    assert second.version == 2
    page = client.get(f"/trainer/materials/{second.id}")
    assert "slides.pdf" in page.text and "slides-v2.pdf" in page.text
    assert client.get(f"/materials/{first.id}/download").status_code == 200

    login(world["participant"])
    assert client.get(f"/materials/{first.id}/download").status_code == 403
    assert client.get(f"/materials/{second.id}/download").status_code == 200


def test_delete_asks_for_confirmation_then_hides(client, login, world):
    material = add_pdf(client, login, world)
    confirm = client.get(f"/trainer/materials/{material.id}/delete")
    assert "Yes, delete it" in confirm.text
    assert material.deleted_at is None
    client.post(f"/trainer/materials/{material.id}/delete", data={"reason": "Outdated"})
    db.session.refresh(material)
    assert material.deleted_at is not None
    event = db.session.scalar(db.select(AuditEvent).filter_by(action="material.delete"))
    assert event.reason == "Outdated"
    login(world["participant"])
    assert client.get(f"/materials/{material.id}/download").status_code == 404


def test_other_trainer_gets_403_everywhere(client, login, world):
    material = add_pdf(client, login, world)
    login(world["other_trainer"])
    em_id = world["em"].id
    assert client.get(f"/trainer/modules/{em_id}").status_code == 403
    assert upload(client, world["em"], PDF, "x.pdf").status_code == 403
    assert client.get(f"/trainer/materials/{material.id}").status_code == 403
    assert client.post(f"/trainer/materials/{material.id}/delete").status_code == 403
    assert client.get(f"/materials/{material.id}/download").status_code == 403


def test_staff_manage_every_module(client, login, world):
    login(role=Role.STAFF)
    assert upload(client, world["em"], PDF, "slides.pdf").status_code == 302
    assert client.get(f"/trainer/modules/{world['other_em'].id}").status_code == 200


def test_participants_download_all_as_zip(client, login, world):
    add_pdf(client, login, world, "a.pdf")
    add_pdf(client, login, world, "b.pdf")
    login(world["participant"])
    response = client.get("/editions/school-2026/modules/agile/materials.zip")
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert sorted(names) == ["a.pdf", "b.pdf"]
    login(world["outsider"])
    assert client.get("/editions/school-2026/modules/agile/materials.zip").status_code == 403
    client.post("/logout")
    with client.session_transaction() as s:
        s.clear()
    response = client.get("/editions/school-2026/modules/agile/materials.zip")
    assert response.status_code == 302
    assert "/editions/school-2026/modules/agile/materials.zip" in unquote(response.location)
    assert response.location.startswith("/login?next=")


def test_pending_registration_sees_no_participant_materials(
    client, login, world, make_registration
):
    add_pdf(client, login, world)
    pending = make_registration(
        edition=world["edition"], modules=[world["em"]], status=RegistrationStatus.PENDING
    )
    login(pending.user)
    material = db.session.scalar(db.select(Material))
    assert client.get(f"/materials/{material.id}/download").status_code == 403


def test_sendfile_header_hands_file_to_web_server(client, login, world, app):
    material = add_pdf(client, login, world)
    app.config["SENDFILE_HEADER"] = "X-Accel-Redirect"
    response = client.get(f"/materials/{material.id}/download")
    assert response.headers["X-Accel-Redirect"] == f"/protected/materials/{material.stored_name}"
    assert response.data == b""
    assert response.headers["Content-Type"] == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]


def test_upload_without_csrf_token_is_refused(client, login, world, app):
    app.config["WTF_CSRF_ENABLED"] = True
    login(world["trainer"])
    assert upload(client, world["em"], PDF, "slides.pdf").status_code == 400
    assert db.session.scalar(db.select(db.func.count(Material.id))) == 0


def test_module_page_of_a_draft_edition_is_hidden_except_from_managers(client, login, world):
    world["edition"].status = EditionStatus.DRAFT
    db.session.commit()
    login(world["participant"])
    assert client.get("/editions/school-2026/modules/agile").status_code == 404
    login(world["trainer"])
    assert client.get("/editions/school-2026/modules/agile").status_code == 200
    assert client.get("/editions/school-2026/modules/no-such-module").status_code == 404
