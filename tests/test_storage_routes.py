"""Materials and certificate downloads on both storage backends: same headers, same permissions;
on S3 also the presigned-redirect mode; on local storage nginx's X-Accel-Redirect."""

import io
import urllib.request
import zipfile
from pathlib import Path

import pytest

from schoolmgr.certificates import files, issuing
from schoolmgr.extensions import db
from schoolmgr.models import AttendanceStatus, Material, Role
from schoolmgr.storage import get_storage
from tests import factories
from tests.test_materials_routes import PDF, upload

NAME = "Уводна презентација.pdf"
DISPOSITION = (
    "attachment; filename=\" .pdf\"; filename*=UTF-8''"
    "%D0%A3%D0%B2%D0%BE%D0%B4%D0%BD%D0%B0%20"
    "%D0%BF%D1%80%D0%B5%D0%B7%D0%B5%D0%BD%D1%82%D0%B0%D1%86%D0%B8%D1%98%D0%B0.pdf"
)


@pytest.fixture
def storage_settings(any_storage_settings):
    return any_storage_settings


@pytest.fixture
def material(client, login):
    edition = factories.EditionFactory(module_choice=True, slug="school-2026")
    trainer = factories.UserFactory(trainer=True)
    em = factories.EditionModuleFactory(edition=edition, trainers=[trainer], module__slug="agile")
    participant = factories.RegistrationFactory(edition=edition, modules=[em]).user
    other_em = factories.EditionModuleFactory(edition=edition)
    outsider = factories.RegistrationFactory(edition=edition, modules=[other_em]).user
    login(trainer)
    assert upload(client, em, PDF, NAME).status_code == 302
    with client.session_transaction() as session:
        session.clear()
    material = db.session.scalar(db.select(Material))
    return material, participant, outsider


def fetch(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read(), response.headers


def test_material_download_on_each_backend(app, client, login, material):
    material, participant, outsider = material
    assert get_storage().read_bytes(f"materials/{material.stored_name}") == PDF
    if app.config.get("STORAGE_BACKEND") == "s3":  # nothing kept on the app server
        assert list((Path(app.config["STORAGE_DIR"]) / "materials").iterdir()) == []

    anonymous = client.get(f"/materials/{material.id}/download")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login(outsider)
    assert client.get(f"/materials/{material.id}/download").status_code == 403

    login(participant)
    response = client.get(f"/materials/{material.id}/download")
    assert response.status_code == 200
    assert response.data == PDF
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == DISPOSITION
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"

    archive = zipfile.ZipFile(
        io.BytesIO(client.get("/editions/school-2026/modules/agile/materials.zip").data)
    )
    assert archive.read(NAME) == PDF


def test_missing_file_answers_404(client, login, material):
    material, participant, _outsider = material
    get_storage().delete(f"materials/{material.stored_name}")
    login(participant)
    assert client.get(f"/materials/{material.id}/download").status_code == 404


@pytest.fixture
def issued(app):
    edition = factories.EditionFactory(past=True, slug="autumn-school")
    em = factories.EditionModuleFactory(edition=edition)
    session = factories.SessionFactory(edition_module=em)
    registration = factories.RegistrationFactory(edition=edition, user__full_name="Jasmin Ćatić")
    factories.AttendanceFactory(
        session=session, registration=registration, status=AttendanceStatus.PRESENT
    )
    certificate, _created = issuing.issue_for_registration(registration, None)
    return certificate


def test_certificate_downloads_on_each_backend(app, client, login, issued):
    content = files.read_pdf(issued)
    assert content.startswith(b"%PDF")
    name = files.download_name(issued)

    login(factories.UserFactory())  # someone else: as if there were no such certificate
    assert client.get(f"/me/certificates/{issued.id}.pdf").status_code == 404

    login(issued.registration.user)
    response = client.get(f"/me/certificates/{issued.id}.pdf")
    assert response.status_code == 200
    assert response.data == content
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"] == f"attachment; filename={name}"

    login(role=Role.STAFF)
    response = client.get(f"/staff/certificates/{issued.id}.pdf")
    assert response.data == content
    assert response.headers["Content-Disposition"] == f"inline; filename={name}"
    archive = zipfile.ZipFile(
        io.BytesIO(client.get("/staff/editions/autumn-school/certificates.zip").data)
    )
    assert archive.read(name) == content


@pytest.fixture
def s3_redirects(s3_storage_settings):
    return {**s3_storage_settings, "STORAGE_DOWNLOADS": "redirect"}


class TestPresignedRedirects:
    @pytest.fixture
    def storage_settings(self, s3_redirects):
        return s3_redirects

    def test_material_redirects_to_a_short_lived_url(self, app, client, login, material):
        material, participant, outsider = material
        login(outsider)
        assert client.get(f"/materials/{material.id}/download").status_code == 403
        login(participant)
        response = client.get(f"/materials/{material.id}/download")
        assert response.status_code == 302
        url = response.headers["Location"]
        assert url.startswith(app.config["S3_ENDPOINT_URL"]) and "Expires=60" in url
        body, headers = fetch(url)
        assert body == PDF
        assert headers["Content-Type"] == "application/pdf"
        assert headers["Content-Disposition"] == DISPOSITION

    def test_certificate_redirects(self, app, client, login, issued):
        login(issued.registration.user)
        response = client.get(f"/me/certificates/{issued.id}.pdf")
        assert response.status_code == 302
        body, headers = fetch(response.headers["Location"])
        assert body == files.read_pdf(issued)
        name = files.download_name(issued)
        assert headers["Content-Disposition"] == f"attachment; filename={name}"
        get_storage().delete(files.pdf_key(issued))
        assert client.get(f"/me/certificates/{issued.id}.pdf").status_code == 404


class TestPresignedForAPublicAddress:
    """The app reaches the storage at one address; browsers get links to another."""

    @pytest.fixture
    def storage_settings(self, s3_redirects):
        public = s3_redirects["S3_ENDPOINT_URL"].replace("127.0.0.1", "localhost")
        return {**s3_redirects, "S3_PUBLIC_ENDPOINT_URL": public}

    def test_links_are_signed_for_the_address_browsers_use(self, app, client, login, issued):
        login(issued.registration.user)
        response = client.get(f"/me/certificates/{issued.id}.pdf")
        assert response.status_code == 302
        url = response.headers["Location"]
        assert url.startswith(app.config["S3_PUBLIC_ENDPOINT_URL"] + "/")
        body, _headers = fetch(url)
        assert body == files.read_pdf(issued)  # read by the app through the private address


class TestXAccelRedirect:
    @pytest.fixture
    def storage_settings(self):
        return {"STORAGE_X_ACCEL_PREFIX": "/protected/"}

    def test_nginx_sends_certificates_and_materials(self, client, login, issued, material):
        login(issued.registration.user)
        response = client.get(f"/me/certificates/{issued.id}.pdf")
        assert response.headers["X-Accel-Redirect"] == f"/protected/certificates/{issued.pdf_name}"
        assert response.data == b""
        assert response.headers["Content-Type"] == "application/pdf"
        material, participant, _outsider = material
        login(participant)
        response = client.get(f"/materials/{material.id}/download")
        assert (
            response.headers["X-Accel-Redirect"] == f"/protected/materials/{material.stored_name}"
        )
        assert response.headers["Content-Disposition"] == DISPOSITION


def test_a_bulk_chunk_stores_every_pdf_and_reports_a_failed_upload(app, monkeypatch):
    """On S3 a chunk's uploads overlap the rendering of the next certificates; every stored
    file matches its recorded SHA-256, and a certificate whose upload failed is reported and
    not recorded (no row ever names a missing file), on either backend."""
    import hashlib

    from schoolmgr.models import Certificate

    edition = factories.EditionFactory(past=True, slug="bulk-school")
    session = factories.SessionFactory(
        edition_module=factories.EditionModuleFactory(edition=edition)
    )
    registrations = []
    for name in ("Ana Kovač", "Besa Krasniqi", "Marko Petrović", "Vesna Ilić"):
        registration = factories.RegistrationFactory(edition=edition, user__full_name=name)
        factories.AttendanceFactory(
            session=session, registration=registration, status=AttendanceStatus.PRESENT
        )
        registrations.append(registration)
    ids = [r.id for r in registrations]
    storage = get_storage()
    real_save, real_key_for = storage.save, files.key_for
    order: dict[str, int] = {}  # PDF names in the order certificates were prepared

    def key_for(pdf_name):
        order.setdefault(pdf_name, len(order))
        return real_key_for(pdf_name)

    def save_refusing_the_second(key, content):
        if order.get(key.removeprefix("certificates/")) == 1:
            raise OSError("the bucket refused this one")
        real_save(key, content)

    monkeypatch.setattr(files, "key_for", key_for)
    monkeypatch.setattr(storage, "save", save_refusing_the_second)
    issued, failures = issuing.issue_chunk(ids, None)

    assert issued == 3
    refused = ids[1]  # prepared second
    assert [f["registration_id"] for f in failures] == [refused]
    db.session.expire_all()
    certificates = db.session.scalars(db.select(Certificate)).all()
    assert sorted(c.registration_id for c in certificates) == sorted(set(ids) - {refused})
    for certificate in certificates:
        content = files.read_pdf(certificate)
        assert hashlib.sha256(content).hexdigest() == certificate.sha256
