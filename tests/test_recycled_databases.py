"""The suite's recycled PostgreSQL databases (tests/databases.py ``RecycledDatabases``):
a database comes back to a later test empty, under another name, with the template's
schema; one a test changed, or still held, is dropped instead."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.databases import ADMIN_URL, RecycledDatabases, _dsn, schema_fingerprint

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pool(pg_template: str) -> AsyncIterator[RecycledDatabases]:
    databases = RecycledDatabases(pg_template)
    try:
        yield databases
    finally:
        await databases.close()


async def existing_databases() -> set[str]:
    conn = await asyncpg.connect(_dsn(ADMIN_URL))
    try:
        return {row[0] for row in await conn.fetch("SELECT datname FROM pg_database")}
    finally:
        await conn.close()


async def fill(url: str) -> None:
    """Rows in the tables of most tests: a user, a profile, a job."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        user, profile = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO users (id, email, created_at) VALUES ($1, 'a@example.test', now())", user
        )
        await conn.execute(
            "INSERT INTO profiles (id, user_id, name, name_key, is_default, created_at,"
            " updated_at) VALUES ($1, $2, 'P', 'p', true, now(), now())",
            profile,
            user,
        )
    finally:
        await conn.close()


async def row_counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(_dsn(url))
    try:
        tables = [
            r[0]
            for r in await conn.fetch(
                "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
                " AND relkind = 'r' AND relname <> 'alembic_version'"
            )
        ]
        return {t: int(await conn.fetchval(f'SELECT count(*) FROM "{t}"')) for t in tables}
    finally:
        await conn.close()


async def test_a_released_database_comes_back_empty_under_another_name(
    pool: RecycledDatabases, pg_template: str
) -> None:
    first = await pool.acquire()
    await fill(first)
    assert sum((await row_counts(first)).values()) >= 2
    # Something of the test still connected, as a leaked pool or listener would be.
    lingering = await asyncpg.connect(_dsn(first))
    await pool.release(first)
    second = await pool.acquire()

    assert make_url(second).database != make_url(first).database
    assert make_url(first).database not in await existing_databases()
    assert set((await row_counts(second)).values()) == {0}
    assert await schema_fingerprint(second) == await schema_fingerprint(pg_template)
    # The old connection was terminated, and the old URL reaches nothing.
    with pytest.raises((asyncpg.PostgresError, OSError, asyncpg.InterfaceError)):
        await lingering.fetchval("SELECT 1")
    with pytest.raises(asyncpg.InvalidCatalogNameError):
        await asyncpg.connect(_dsn(first))
    await pool.release(second)
    assert len(pool.idle) == 1


@pytest.mark.parametrize(
    "change",
    [
        "CREATE TABLE scratch (id int)",
        "ALTER TABLE projects DISABLE ROW LEVEL SECURITY",
        "DROP POLICY tenant_isolation ON projects",
        "ALTER TABLE projects ADD COLUMN extra text",
        "CREATE INDEX ix_scratch ON projects (name)",
        "GRANT ALL ON projects TO PUBLIC",
        "CREATE FUNCTION scratch() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "UPDATE alembic_version SET version_num = 'elsewhere'",
    ],
)
async def test_a_database_whose_schema_a_test_changed_is_dropped(
    pool: RecycledDatabases, change: str
) -> None:
    url = await pool.acquire()
    conn = await asyncpg.connect(_dsn(url))
    try:
        before = await schema_fingerprint(url)
        await conn.execute(change)
        changed = await schema_fingerprint(url) != before
    finally:
        await conn.close()
    assert changed, f"the fingerprint does not see: {change}"
    await pool.release(url)
    assert pool.idle == []
    assert make_url(url).database not in await existing_databases()


async def test_a_client_that_keeps_reconnecting_never_reaches_a_recycled_database(
    pool: RecycledDatabases,
) -> None:
    """A client that reconnects as soon as it is cut off (the retry loop of a leaked app)
    either makes the rename fail (the database is then dropped) or is left knocking at a
    name that no longer exists; it never gets into the database handed on."""
    url = await pool.acquire()
    stop = asyncio.Event()
    reached: list[str] = []

    async def reconnecting_client() -> None:
        while not stop.is_set():
            try:
                conn = await asyncpg.connect(_dsn(url))
            except (asyncpg.PostgresError, OSError):
                await asyncio.sleep(0.001)
                continue
            try:
                reached.append(str(await conn.fetchval("SELECT current_database()")))
                await conn.fetchval("SELECT pg_sleep(0.02)")
            except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                pass
            finally:
                conn.terminate()

    client = asyncio.create_task(reconnecting_client())
    try:
        await asyncio.sleep(0.1)
        await pool.release(url)
        await asyncio.sleep(0.1)
    finally:
        stop.set()
        await client
    assert reached, "the client never got in: the race was not run"
    assert set(reached) == {make_url(url).database}
    assert make_url(url).database not in await existing_databases()
    for idle in pool.idle:
        assert set((await row_counts(idle)).values()) == {0}
