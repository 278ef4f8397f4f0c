"""Engine creation: one per process, tuned per backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from editai.settings import Settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy, not the driver, starts transactions (see _sqlite_begin); this also makes
    # SAVEPOINTs work as documented.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # Cascades (profile -> projects -> clips) rely on enforced foreign keys.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    """Every transaction takes the write lock up front (``BEGIN IMMEDIATE``).

    A deferred transaction that reads and then writes fails at once with "database is
    locked" (SQLITE_BUSY_SNAPSHOT, which busy_timeout cannot wait out) when another
    connection committed in between, e.g. the worker claiming a job while a request
    creates a user. Taking the lock first makes writers queue on busy_timeout instead;
    in WAL mode readers outside a transaction are not blocked.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(settings: Settings, url: str | None = None, **kwargs: Any) -> AsyncEngine:
    url = url or settings.database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, echo=settings.db_echo, connect_args={"timeout": 15}, **kwargs
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_size", settings.db_pool_size)
    kwargs.setdefault("max_overflow", settings.db_pool_size)
    return create_async_engine(
        url,
        echo=settings.db_echo,
        # A ping costs three round trips per checkout on asyncpg (bench/README.md); without
        # it a connection killed by a database restart fails one request and the pool is
        # invalidated. Recycling bounds a connection's age either way.
        pool_pre_ping=settings.db_pool_pre_ping,
        pool_recycle=settings.db_pool_recycle_seconds,
        **kwargs,
    )
