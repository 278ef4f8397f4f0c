"""Declarative base, naming convention and the tenancy mixins."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, MetaData, TypeDecorator, Uuid
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.driver == "asyncpg":
            # asyncpg decodes timestamptz as aware datetimes in UTC (timezone.utc) itself:
            # nothing to do per value (two per row of every page).
            return None
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is UTC:
            return value  # asyncpg's (timezone.utc): astimezone would copy it, per row
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class UserScoped:
    """Rows owned by a user (profiles). Filtered by ``user_id`` of the session scope."""

    @declared_attr
    def user_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805 - declared_attr takes the class
        return mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class ProfileScoped:
    """Rows owned by a profile. Filtered by ``profile_id`` of the session scope.

    Most rows go with their profile (CASCADE). Jobs and costs outlive it: they set
    ``__profile_ondelete__ = "SET NULL"`` and keep their history with no owner, which
    no tenant can ever see again.
    """

    __profile_ondelete__ = "CASCADE"

    @declared_attr
    def profile_id(cls) -> Mapped[uuid.UUID | None]:  # noqa: N805
        ondelete = cls.__profile_ondelete__
        return mapped_column(
            ForeignKey("profiles.id", ondelete=ondelete),
            index=True,
            nullable=ondelete == "SET NULL",
        )
