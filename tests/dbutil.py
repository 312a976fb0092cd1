"""Test databases: SQLite files by default, PostgreSQL when TEST_DATABASE_URL is set.

Each pytest-xdist worker gets a database of its own on PostgreSQL (test_gw0, test_gw1, ...),
created on first use, so parallel workers never see each other's rows.
"""

import os

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def database_for(name_suffix: str, sqlite_dir) -> str:
    """URL of a database private to this worker and purpose, created if missing."""
    base = postgres_url()
    if base is None:
        return f"sqlite:///{sqlite_dir / f'{name_suffix}.sqlite3'}"
    url = make_url(base)
    name = f"{url.database}_{name_suffix}".replace("-", "_")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_everything(url: str) -> None:
    """Drop all tables (and Alembic's version table) of a test database."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in meta.tables:
                conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
        else:
            meta.drop_all(conn)
    engine.dispose()
