"""Fixtures: an app per test on a shared schema, a client, factories and a sign-in helper."""

import os
import uuid

import pytest
import sqlalchemy as sa
from flask import g
from flask.testing import FlaskClient

from schoolmgr import create_app
from schoolmgr.extensions import db as _db
from schoolmgr.models import Role
from tests import factories
from tests.dbutil import database_for, drop_everything


@pytest.fixture(scope="session")
def worker_id_suffix(request) -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, worker_id_suffix) -> str:
    """One database per worker with the models' schema, created once per test run."""
    url = database_for(worker_id_suffix, tmp_path_factory.mktemp("db"))
    drop_everything(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        _db.create_all()
        _db.engine.dispose()
    return url


class RequestClient(FlaskClient):
    """A test client whose requests each start with an empty `g`, as in a real server.

    The test's app context (and so its db.session) is shared with the requests it makes, which
    keeps objects in step; per-request state such as the signed-in user must not leak between
    requests.
    """

    def open(self, *args, **kwargs):
        g.__dict__.clear()
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    """moto's S3 server on 127.0.0.1 (one per test process), started on first use."""
    from tests import s3server

    s3server.use_credentials()
    with s3server.moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def storage_settings() -> dict:
    """Storage settings of the `app` fixture; tests override it to run on S3 (see s3_app)."""
    return {}


@pytest.fixture
def app(database_url, tmp_path, storage_settings):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "STORAGE_DIR": str(tmp_path / "storage"),
            "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
            **storage_settings,
        }
    )
    app.test_client_class = RequestClient
    with app.app_context():
        yield app
        _db.session.remove()
        _empty_all_tables()
        _db.engine.dispose()


def _empty_all_tables() -> None:
    """Delete every row and start the ids at 1 again. On PostgreSQL in one round trip of
    DELETEs and setval()s: TRUNCATE RESTART IDENTITY gives each of the 30-odd tables and
    sequences a new file, about 100 ms a test, where this takes a few."""
    tables = list(reversed(_db.metadata.sorted_tables))
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(_postgresql_emptying(conn))
        else:
            for table in tables:
                conn.execute(table.delete())


_POSTGRESQL_EMPTYING: list[str] = []


def _postgresql_emptying(conn) -> str:
    if not _POSTGRESQL_EMPTYING:
        sequences = conn.scalars(
            sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
        ).all()
        _POSTGRESQL_EMPTYING.append(
            "".join(f'DELETE FROM "{t.name}";' for t in reversed(_db.metadata.sorted_tables))
            + "".join(f"SELECT setval('\"{s}\"', 1, false);" for s in sequences)
        )
    return _POSTGRESQL_EMPTYING[0]


@pytest.fixture
def s3_storage_settings(s3_endpoint) -> dict:
    """Settings for an app on a fresh bucket of the test S3 server."""
    from tests import s3server

    bucket = f"test-{uuid.uuid4().hex}"
    s3server.create_bucket(s3_endpoint, bucket)
    return s3server.s3_settings(s3_endpoint, bucket)


@pytest.fixture(params=["local", "s3"])
def any_storage_settings(request) -> dict:
    """Parametrises a test over both storage backends (use as `storage_settings`)."""
    if request.param == "local":
        return {}
    return request.getfixturevalue("s3_storage_settings")


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login(client):
    """Sign the test client in as `user` (or as a new user of `role`); returns the user."""

    def _login(user=None, role: Role = Role.PARTICIPANT):
        user = user or factories.UserFactory(role=role)
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return user

    return _login


@pytest.fixture
def outbox(app):
    """Email delivered through the in-memory backend during the test."""
    from schoolmgr.mail import outbox

    return outbox(app)


# Factory fixtures, so tests ask for what they need by name.
@pytest.fixture
def make_user(app):
    return factories.UserFactory


@pytest.fixture
def make_edition(app):
    return factories.EditionFactory


@pytest.fixture
def make_module(app):
    return factories.ModuleFactory


@pytest.fixture
def make_edition_module(app):
    return factories.EditionModuleFactory


@pytest.fixture
def make_session(app):
    return factories.SessionFactory


@pytest.fixture
def make_registration(app):
    return factories.RegistrationFactory


@pytest.fixture
def make_attendance(app):
    return factories.AttendanceFactory


@pytest.fixture
def make_material(app):
    return factories.MaterialFactory


@pytest.fixture
def make_certificate(app):
    return factories.CertificateFactory


def pytest_configure(config):
    """Compile the translation catalogues, as `make test` does, when pytest is run directly."""
    from schoolmgr.catalogues import compile_all

    compile_all()
