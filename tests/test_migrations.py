"""The Alembic migrations build exactly the models' schema, and go down and up again."""

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from schoolmgr import create_app
from schoolmgr.extensions import db
from tests.dbutil import database_for, drop_everything


@pytest.fixture
def migration_app(tmp_path, worker_id_suffix):
    url = database_for(f"migrations_{worker_id_suffix}", tmp_path)
    drop_everything(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    drop_everything(url)


def schema_differences() -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_to_head_produces_exactly_the_models_schema(migration_app):
    flask_migrate.upgrade()

    assert schema_differences() == []


def test_downgrade_to_base_and_upgrade_again(migration_app):
    flask_migrate.upgrade()
    flask_migrate.downgrade(revision="base")

    tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()

    flask_migrate.upgrade()
    assert schema_differences() == []
    assert "users" in sa.inspect(db.engine).get_table_names()
