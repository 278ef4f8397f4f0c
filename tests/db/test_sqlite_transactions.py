"""The embedded SQLite database's transactions: each takes the write lock when it begins
(``BEGIN IMMEDIATE``), so what a transaction read stays true until it commits and its
later writes cannot fail because another connection committed in between (a deferred
SQLite transaction fails at once then: SQLITE_BUSY_SNAPSHOT, busy_timeout cannot help);
and SAVEPOINTs work."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from sqlalchemy import text

from editai.db.engine import create_engine
from tests.conftest import make_settings


async def test_read_then_write_survives_a_commit_in_between(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"
    engine = create_engine(make_settings(tmp_path, url), url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE items (id TEXT PRIMARY KEY)"))
        a_has_read = asyncio.Event()
        committed: list[str] = []

        async def reader_then_writer() -> None:
            # Like a mutation: reads first (validation), writes later.
            async with engine.begin() as conn:
                seen = (await conn.execute(text("SELECT count(*) FROM items"))).scalar_one()
                a_has_read.set()
                await asyncio.sleep(0.3)  # the other connection tries to commit meanwhile
                still = (await conn.execute(text("SELECT count(*) FROM items"))).scalar_one()
                assert still == seen  # nobody wrote under it
                await conn.execute(text("INSERT INTO items VALUES (:i)"), {"i": "a"})
            committed.append("reader")

        async def other_writer() -> None:
            # Like the worker claiming a job while that mutation runs: it waits its turn.
            await a_has_read.wait()
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO items VALUES (:i)"), {"i": str(uuid.uuid4())})
            committed.append("other")

        await asyncio.gather(reader_then_writer(), other_writer())
        assert committed == ["reader", "other"]
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM items"))).scalar_one() == 2
    finally:
        await engine.dispose()


async def test_savepoint_rolls_back_only_its_own_writes(tmp_path: Path) -> None:
    """What ProfileService relies on (a name conflict rolls back to a SAVEPOINT); the
    driver's own transaction handling is off, SQLAlchemy emits BEGIN and SAVEPOINT."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'savepoint.db'}"
    engine = create_engine(make_settings(tmp_path, url), url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE items (id TEXT PRIMARY KEY)"))
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO items VALUES ('kept')"))
            nested = await conn.begin_nested()
            await conn.execute(text("INSERT INTO items VALUES ('undone')"))
            await nested.rollback()
            await conn.execute(text("INSERT INTO items VALUES ('after')"))
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT id FROM items ORDER BY id"))).scalars().all()
        assert rows == ["after", "kept"]
    finally:
        await engine.dispose()
