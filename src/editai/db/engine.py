"""Engine creation: one per process, tuned per backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from editai.settings import Settings


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy, not the driver, starts transactions (see _sqlite_begin); this also
        # makes SAVEPOINTs work as documented.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Cascades (profile -> projects -> clips) rely on enforced foreign keys.
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL: readers see a snapshot and never wait for the writer, nor it for them.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


# Execution option naming how a SQLite transaction begins: "DEFERRED" (a read-only
# WAL snapshot: no lock, never waits) or "IMMEDIATE" (the write lock, up front).
SQLITE_BEGIN_OPTION = "editai_sqlite_begin"


def _sqlite_begin(connection: Any) -> None:
    """Writers take the write lock up front (``BEGIN IMMEDIATE``); reads opt out.

    A deferred transaction that reads and then writes fails at once with "database is
    locked" (SQLITE_BUSY_SNAPSHOT, which busy_timeout cannot wait out) when another
    connection committed in between, e.g. the worker claiming a job while a request
    creates a user. Taking the lock first makes writers queue on busy_timeout instead.
    So IMMEDIATE is the default for every transaction, and only blocks that are known
    to read (``begin_sqlite_transaction(write=False)``) begin DEFERRED: in WAL mode
    they neither take nor wait for the write lock.
    """
    mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")
    connection.exec_driver_sql("BEGIN" if mode == "DEFERRED" else "BEGIN IMMEDIATE")


async def begin_sqlite_transaction(session: AsyncSession, *, write: bool) -> None:
    """Begin the session's SQLite transaction now, as a write or as a read.

    Only when none is open: an open transaction keeps the mode it began with.
    """
    if not session.in_transaction():
        mode = "IMMEDIATE" if write else "DEFERRED"
        await session.connection(execution_options={SQLITE_BEGIN_OPTION: mode})


def create_engine(settings: Settings, url: str | None = None, **kwargs: Any) -> AsyncEngine:
    url = url or settings.database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        busy_seconds = settings.sqlite_busy_timeout_seconds
        if parsed.database and parsed.database != ":memory:":
            kwargs.setdefault("pool_timeout", settings.db_pool_timeout_seconds)
        engine = create_async_engine(
            url, echo=settings.db_echo, connect_args={"timeout": busy_seconds}, **kwargs
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(int(busy_seconds * 1000)))
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_size", settings.db_pool_size)
    kwargs.setdefault("max_overflow", settings.db_pool_size)
    kwargs.setdefault("pool_timeout", settings.db_pool_timeout_seconds)
    from editai.db.connection_health import refuse_dead_connections
    from editai.db.scope_on_begin import ScopeOnBeginConnection, disarm_when_transactions_end

    # Tenant transactions send their scope with their BEGIN (db/scope_on_begin.py).
    kwargs["connect_args"] = {"connection_class": ScopeOnBeginConnection} | kwargs.get(
        "connect_args", {}
    )
    engine = create_async_engine(
        url,
        echo=settings.db_echo,
        # A ping costs three round trips per checkout on asyncpg (bench/README.md); a
        # connection the database dropped while idle is refused at checkout without one
        # (connection_health.py). Recycling bounds a connection's age either way.
        pool_pre_ping=settings.db_pool_pre_ping,
        pool_recycle=settings.db_pool_recycle_seconds,
        **kwargs,
    )
    refuse_dead_connections(engine)
    disarm_when_transactions_end(engine)
    return engine
