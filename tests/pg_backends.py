"""Killing a test database's PostgreSQL backends, as a restart or a failover does.

The connection-loss tests terminate the backends of a database of their own from a
separate admin connection (on the ``postgres`` database, so never one of its victims):
between two requests (``terminate_backends``), or exactly when the app is about to send a
given statement (``backends_killed_before``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from tests.databases import ADMIN_URL, _dsn

# pg_terminate_backend(pid, timeout) waits (PostgreSQL 14+) until the backend has exited:
# by then it has sent its FATAL message and closed its socket, the moment the kill is over.
_TERMINATE = """
    SELECT pid, pg_terminate_backend(pid, 10000) AS gone
    FROM pg_stat_activity
    WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()
      AND ($2::text IS NULL OR application_name = $2)
"""


@dataclass(frozen=True)
class Kill:
    """Which backends were terminated, and when (``time.monotonic()``): from just before
    the terminate was sent until it returned, every victim gone."""

    pids: list[int]
    started: float
    ended: float


async def admin_fetch(query: str, *args: Any) -> list[asyncpg.Record]:
    """Run ``query`` on a fresh admin connection (the ``postgres`` database: never one of
    the test database's backends, so never a victim of a kill)."""
    admin = await asyncpg.connect(_dsn(ADMIN_URL), timeout=5)
    try:
        return await admin.fetch(query, *args)
    finally:
        await admin.close()


async def kill_backends(database_url: str, *, application_name: str | None = None) -> Kill:
    """Terminate the client backends of ``database_url``'s database; returns once every
    one of them has exited. ``application_name``: only the backends of connections that
    gave that name (e.g. the job event bus's LISTEN connection)."""
    database = make_url(database_url).database
    started = time.monotonic()
    rows = await admin_fetch(_TERMINATE, database, application_name)
    ended = time.monotonic()
    # False: the backend had already exited (nothing to signal), or outlived the timeout.
    alive = await backend_pids(database_url) & {row["pid"] for row in rows if not row["gone"]}
    assert not alive, f"backends still alive 10 s after pg_terminate_backend: {alive}"
    return Kill([row["pid"] for row in rows], started, ended)


async def terminate_backends(
    database_url: str, *, application_name: str | None = None
) -> list[int]:
    """``kill_backends``, for callers that need only the pids."""
    return (await kill_backends(database_url, application_name=application_name)).pids


async def backend_pids(database_url: str, *, application_name: str | None = None) -> set[int]:
    """The client backends connected to ``database_url``'s database right now."""
    rows = await admin_fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid() "
        "AND ($2::text IS NULL OR application_name = $2)",
        make_url(database_url).database,
        application_name,
    )
    return {row["pid"] for row in rows}


async def idle_in_transaction(database_url: str, *, within: float = 3.0) -> list[dict[str, Any]]:
    """Backends of the database left ``idle in transaction`` (a leaked transaction).

    A transaction between two statements is briefly so; a leaked one stays so: looks
    again for ``within`` seconds, and returns what is still left then.
    """
    database = make_url(database_url).database
    deadline = time.monotonic() + within
    while True:
        rows = await admin_fetch(
            "SELECT pid, state, application_name, left(query, 200) AS query "
            "FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'",
            database,
        )
        if not rows or time.monotonic() > deadline:
            return [dict(row) for row in rows]
        await asyncio.sleep(0.1)


# A statement the app is about to send: its SQL and its parameters, as the driver gets them.
StatementMatch = Callable[[str, Any], bool]


@contextmanager
def backends_killed_before(
    engine: AsyncEngine, database_url: str, matches: StatementMatch, *, times: int = 1
) -> Iterator[list[str]]:
    """Kill every backend of the database just before ``engine`` sends a matching statement.

    The connection was checked out alive, so the statement is *in flight* when its backend
    is gone: what no checkout can catch, as when the database restarts mid-query. Every
    other connection of the app (its idle pooled ones, a LISTEN connection) dies too.
    Fires ``times`` times; yields the statements it fired on.
    """
    fired: list[str] = []

    def before_cursor_execute(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if len(fired) >= times or not matches(statement, parameters):
            return
        fired.append(statement)
        # SQLAlchemy runs this hook inside its greenlet: await_only runs the kill on the loop.
        await_only(terminate_backends(database_url))

    event.listen(engine.sync_engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield fired
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before_cursor_execute)
