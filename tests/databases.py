"""Test databases: every test gets a database of its own, copied from one migrated per run.

PostgreSQL: ``CREATE DATABASE ... TEMPLATE`` of a template migrated once, then recycled
(``RecycledDatabases``). SQLite: a copy of a migrated file. A test therefore never sees
another test's rows, and nothing run by one test (a worker claiming queued jobs,
stale-job recovery, LISTEN/NOTIFY) can reach another's.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get(
    "EDITAI_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def create_postgres_database(prefix: str = "editai_test", template: str | None = None) -> str:
    """Create a database (empty, or a copy of ``template``'s, a URL) and return its URL.

    Skips, or fails with CI=true, when no server answers. The template must have no
    connections open (PostgreSQL refuses to copy a database in use).
    """
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        conn = await asyncpg.connect(_dsn(ADMIN_URL), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL not reachable at {ADMIN_URL}: {exc}"
        if in_ci():
            pytest.fail(message + " (CI=true: PostgreSQL is required)", pytrace=False)
        pytest.skip(message)
    statement = f"CREATE DATABASE {_quoted(name)}"
    if template is not None:
        # WAL_LOG (the default since 15, spelled out): no checkpoint per copy, unlike FILE_COPY.
        statement += f" TEMPLATE {_quoted(str(make_url(template).database))} STRATEGY WAL_LOG"
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def _terminate_connections(admin: asyncpg.Connection, name: str) -> None:
    """Ends every session connected to database ``name`` (but ``admin``'s own)."""
    await admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid()",
        name,
    )


async def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(_dsn(ADMIN_URL), timeout=5)
    try:
        await _terminate_connections(conn, str(name))
        # FORCE (PostgreSQL 13+): whoever connected since the termination is cut off too.
        await conn.execute(f"DROP DATABASE IF EXISTS {_quoted(str(name))} WITH (FORCE)")
    finally:
        await conn.close()


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def copy_sqlite_database(template: Path, target: Path) -> str:
    """Copy a migrated SQLite file (closed: its WAL checkpointed away) and return its URL."""
    leftover = [p for p in (Path(f"{template}-wal"), Path(f"{template}-shm")) if p.exists()]
    assert not leftover, f"the SQLite template is still open: {leftover}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    return sqlite_url(target)


# The schema of a migrated database, one line per object (sorted, compared with ==): what
# a test may not change in a database that another test will get.
_SCHEMA_QUERY = """
SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' '
       || is_nullable || ' ' || coalesce(column_default, '') || ' '
       || coalesce(character_maximum_length::text, '')
  FROM information_schema.columns WHERE table_schema = 'public'
UNION ALL
SELECT 'relation ' || relname || ' ' || relkind::text
  FROM pg_class WHERE relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
UNION ALL
SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' '
       || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT 'enum ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
  FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname
UNION ALL
SELECT 'rls ' || relname || ' ' || relrowsecurity::text || ' ' || relforcerowsecurity::text
  FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
UNION ALL
SELECT 'policy ' || tablename || ' ' || policyname || ' ' || cmd || ' ' || roles::text || ' '
       || coalesce(qual, '') || ' ' || coalesce(with_check, '')
  FROM pg_policies WHERE schemaname = 'public'
UNION ALL
SELECT 'grant ' || table_name || ' ' || grantee || ' ' || privilege_type
  FROM information_schema.role_table_grants WHERE table_schema = 'public'
UNION ALL
SELECT 'function ' || pg_get_functiondef(oid)
  FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND prokind = 'f'
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT 'setting ' || coalesce(setrole::regrole::text, '') || ' ' || setconfig::text
  FROM pg_db_role_setting WHERE setdatabase = (
    SELECT oid FROM pg_database WHERE datname = current_database())
UNION ALL
SELECT 'extension ' || extname || ' ' || extversion FROM pg_extension
UNION ALL
SELECT 'alembic ' || version_num FROM alembic_version
"""


async def schema_fingerprint(url: str) -> list[str]:
    """The schema of a migrated database as sorted lines (compare two with ``==``)."""
    conn = await asyncpg.connect(_dsn(url), timeout=5)
    try:
        rows = await conn.fetch(_SCHEMA_QUERY)
    finally:
        await conn.close()
    return sorted(str(row[0]) for row in rows)


class RecycledDatabases:
    """Copies of the template, each emptied after its test and handed to a later one.

    A copy costs 60-400 ms on this machine (8 MB written and synced: the slowest part of
    most PostgreSQL tests' set-up); emptying one, a few milliseconds. A database goes
    back to the pool only as good as new:

    * every connection to it terminated (as before a drop), then the database renamed,
      so that nothing of its test (an app, a worker, a listener, a retry loop) can reach
      it again: the old URL names no database, as after a drop;
    * no prepared transaction, and the template's schema exactly
      (``schema_fingerprint``: a test that changed a table, a policy, a grant or a
      setting gives its database up);
    * every table emptied in one transaction (FK and user triggers off for it:
      ``session_replication_role``), and checked empty.

    Anything else, or any error on the way, and it is dropped.
    """

    def __init__(self, template: str) -> None:
        self.template = template
        self.schema: list[str] | None = None
        self.tables: list[str] = []
        self.idle: list[str] = []

    async def acquire(self) -> str:
        if self.schema is None:
            # Read before the first copy: PostgreSQL copies no database in use.
            self.schema = await schema_fingerprint(self.template)
            self.tables = await _tables(self.template)
        if self.idle:
            return self.idle.pop()
        return await create_postgres_database("editai_test", template=self.template)

    async def release(self, url: str) -> None:
        try:
            renamed = await self._empty(url)
        except (OSError, asyncpg.PostgresError):
            renamed = None
        if renamed is None:
            await drop_postgres_database(url)
        else:
            self.idle.append(renamed)

    async def close(self) -> None:
        while self.idle:
            await drop_postgres_database(self.idle.pop())

    async def _empty(self, url: str) -> str | None:
        """The database emptied under a new name (its URL), or None if it cannot be."""
        name = str(make_url(url).database)
        new_name = f"editai_test_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(_dsn(ADMIN_URL), timeout=5)
        try:
            await _terminate_connections(admin, name)
            prepared = "SELECT count(*) FROM pg_prepared_xacts WHERE database = $1"
            if await admin.fetchval(prepared, name):
                return None
            # Refused while anyone is (again) connected: then it is dropped instead.
            await admin.execute(f"ALTER DATABASE {_quoted(name)} RENAME TO {_quoted(new_name)}")
        finally:
            await admin.close()
        renamed = make_url(url).set(database=new_name).render_as_string(hide_password=False)
        try:
            if await self._as_good_as_new(renamed):
                return renamed
        except (OSError, asyncpg.PostgresError):
            pass
        await drop_postgres_database(renamed)
        return None

    async def _as_good_as_new(self, url: str) -> bool:
        if await schema_fingerprint(url) != self.schema:
            return False
        conn = await asyncpg.connect(_dsn(url), timeout=5)
        try:
            async with conn.transaction():
                await conn.execute("SET LOCAL session_replication_role = replica")
                for table in self.tables:
                    await conn.execute(f"DELETE FROM {_quoted(table)}")
            counts = " UNION ALL ".join(f"SELECT count(*) FROM {_quoted(t)}" for t in self.tables)
            return not any(row[0] for row in await conn.fetch(counts))
        finally:
            await conn.close()


async def _tables(url: str) -> list[str]:
    """Every table of the schema but Alembic's own."""
    conn = await asyncpg.connect(_dsn(url), timeout=5)
    try:
        rows = await conn.fetch(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind IN ('r', 'p') AND relname <> 'alembic_version' ORDER BY relname"
        )
    finally:
        await conn.close()
    return [str(row[0]) for row in rows]
