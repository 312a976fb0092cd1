"""Column types and helpers shared by the models."""

import enum
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def random_token(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime stored as UTC; SQLite gives back aware values too."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_type(enum_cls: type[enum.Enum], length: int = 20, name: str | None = None) -> sa.Enum:
    """A portable string enum with a CHECK constraint named after the enum (or `name`, for a
    second column of the same enum in one table)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        name=name or enum_cls.__name__.lower(),
        validate_strings=True,
    )
