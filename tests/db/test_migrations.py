"""Migrations: a full round trip on fresh databases, and no drift between models and migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Index, MetaData, String, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.db import migrate
from editai.db.autogen import COMPARE_OPTIONS
from editai.db.engine import create_engine
from editai.db.models import Base
from editai.settings import get_settings
from tests.conftest import make_settings
from tests.databases import create_postgres_database, drop_postgres_database

APP_TABLES = set(Base.metadata.tables)
# Shared by every tenant, read and written by system sessions only: no row-level
# security, and no grant to the tenant role.
SHARED_TABLES = {"persisted_queries"}


@pytest.fixture
async def fresh_postgres(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = await create_postgres_database("editai_migrations")
    engine = create_engine(make_settings(tmp_path, url), url)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_postgres_database(url)


@pytest.fixture
async def fresh_sqlite(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
    engine = create_engine(make_settings(tmp_path, url), url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def policy_tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relrowsecurity"
            )
        )
        policies = await conn.execute(
            text("SELECT tablename FROM pg_policies WHERE schemaname = 'public'")
        )
        return {r[0] for r in rows} | {r[0] for r in policies}


async def assert_round_trip(engine: AsyncEngine) -> None:
    assert await table_names(engine) == set()

    await migrate.upgrade(engine)
    assert await table_names(engine) == APP_TABLES | {"alembic_version"}
    assert await current_revision(engine) is not None

    await migrate.downgrade(engine, "base")
    # Alembic keeps its (now empty) version table; every application table is gone.
    assert await table_names(engine) - {"alembic_version"} == set()
    assert await current_revision(engine) is None

    await migrate.upgrade(engine)
    assert await table_names(engine) == APP_TABLES | {"alembic_version"}


async def test_round_trip_on_postgres(fresh_postgres: AsyncEngine) -> None:
    await assert_round_trip(fresh_postgres)
    assert await policy_tables(fresh_postgres) == APP_TABLES  # row-level security on all
    async with fresh_postgres.connect() as conn:
        granted = await conn.scalar(
            text(
                "SELECT count(*) FROM information_schema.role_table_grants"
                " WHERE table_name = 'persisted_queries' AND grantee = :role"
            ),
            {"role": get_settings().db_tenant_role},
        )
    assert granted == 0
    await migrate.downgrade(fresh_postgres, "base")
    assert await policy_tables(fresh_postgres) == set()


async def test_round_trip_on_sqlite(fresh_sqlite: AsyncEngine) -> None:
    await assert_round_trip(fresh_sqlite)


# --- drift -----------------------------------------------------------------------------


def diff_against(metadata: MetaData) -> Any:
    def compare(conn: Connection) -> Any:
        context = MigrationContext.configure(conn, opts=dict(COMPARE_OPTIONS))
        return compare_metadata(context, metadata)

    return compare


async def test_models_and_migrations_do_not_drift(engine: AsyncEngine) -> None:
    # ``engine`` is migrated to head (conftest), on both backends.
    async with engine.connect() as conn:
        diff = await conn.run_sync(diff_against(Base.metadata))
    assert diff == []


def copy_of_models() -> MetaData:
    copy = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(copy)
    return copy


def default_profile_index(metadata: MetaData) -> Index:
    [index] = [
        i
        for i in metadata.tables["profiles"].indexes
        if i.name == "uq_profiles_one_default_per_user"
    ]
    return index


async def test_the_drift_check_sees_real_differences(engine: AsyncEngine) -> None:
    """The comparison is not blind: changed models make the diff non-empty."""
    dialect = engine.dialect.name

    unchanged = copy_of_models()
    with_column = copy_of_models()
    with_column.tables["projects"].append_column(Column("color", String(20)))
    not_unique = copy_of_models()
    default_profile_index(not_unique).unique = False
    # The partial unique index losing its predicate would allow one profile per user.
    no_predicate = copy_of_models()
    default_profile_index(no_predicate).dialect_options[dialect]["where"] = None
    other_predicate = copy_of_models()
    default_profile_index(other_predicate).dialect_options[dialect]["where"] = text(
        "NOT is_default"
    )

    async with engine.connect() as conn:
        assert await conn.run_sync(diff_against(unchanged)) == []
        column_diff = await conn.run_sync(diff_against(with_column))
        for changed in (not_unique, no_predicate, other_predicate):
            index_diff = await conn.run_sync(diff_against(changed))
            kinds = [d[0] for d in index_diff]
            names = {d[1].name for d in index_diff}
            assert kinds == ["remove_index", "add_index"], index_diff
            assert names == {"uq_profiles_one_default_per_user"}
    assert [(d[0], d[3].name) for d in column_diff] == [("add_column", "color")]
