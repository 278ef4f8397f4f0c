"""Helpers for the operation-lifecycle tests: apps without a worker, leak probes, locks."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from editai.app import create_app
from editai.settings import Settings
from tests.api import Api


@contextlib.asynccontextmanager
async def quiet_app(
    settings: Settings, engine: AsyncEngine, **overrides: object
) -> AsyncIterator[Starlette]:
    """The app with no embedded worker: every pooled connection it checks out is a request's."""
    application = create_app(
        settings.model_copy(update={"embedded_worker": False, **overrides}), engine=engine
    )
    async with application.router.lifespan_context(application):
        yield application


@contextlib.asynccontextmanager
async def quiet_app_api(
    settings: Settings, engine: AsyncEngine, **overrides: object
) -> AsyncIterator[Api]:
    """``quiet_app``'s API, through an in-process HTTP client (settings with ``overrides``)."""
    async with quiet_app(settings, engine, **overrides) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield Api(c, app.state.settings)


async def wait_until(predicate: Callable[[], bool], within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return predicate()


def checked_out(engine: AsyncEngine) -> int:
    return int(engine.pool.checkedout())  # type: ignore[attr-defined]


async def idle_in_transaction(engine: AsyncEngine) -> int:
    """Other connections of this database left inside a transaction (PostgreSQL)."""
    async with engine.connect() as conn:
        count = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            )
        )
    return int(count or 0)


def sqlite_path(engine: AsyncEngine) -> Path:
    database = engine.url.database
    assert database
    return Path(database)


def sqlite_write_lock_free(engine: AsyncEngine) -> bool:
    """True when another connection can take SQLite's write lock at once (no wait)."""
    conn = sqlite3.connect(sqlite_path(engine), timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


@contextlib.contextmanager
def sqlite_write_lock(engine: AsyncEngine) -> Iterator[None]:
    """Holds SQLite's write lock from outside the app, as a stuck writer would."""
    conn = sqlite3.connect(sqlite_path(engine), timeout=5, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def nothing_held(engine: AsyncEngine) -> None:
    """Asserts the operation released everything: pool, transaction, SQLite lock."""
    assert await wait_until(lambda: checked_out(engine) == 0), checked_out(engine)
    if engine.dialect.name == "postgresql":
        assert await idle_in_transaction(engine) == 0
    else:
        assert sqlite_write_lock_free(engine)
