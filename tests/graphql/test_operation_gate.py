"""The operation's database gate (graphql/operation.py), on both backends."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.db.tenancy import SessionFactory
from editai.graphql.operation import OperationDatabase, OperationEnded
from tests.graphql.lifecycle import checked_out, nothing_held, sqlite_path, sqlite_write_lock


def _gate(sessions: SessionFactory) -> OperationDatabase:
    user_id = uuid.uuid4()
    return OperationDatabase(sessions, lambda: (None, user_id))


async def test_close_waits_for_the_block_in_progress_then_refuses(
    sessions: SessionFactory, engine: AsyncEngine
) -> None:
    gate = _gate(sessions)
    inside, release = asyncio.Event(), asyncio.Event()

    async def slow_reader() -> int:
        async with gate.read() as session:
            inside.set()
            await release.wait()
            return int(await session.scalar(text("SELECT 1")) or 0)

    async def late_reader() -> None:
        async with gate.read():
            pytest.fail("a block queued behind close() must never run")

    reader = asyncio.create_task(slow_reader())
    await inside.wait()
    late = asyncio.create_task(late_reader())
    closing = asyncio.create_task(gate.close())
    await asyncio.sleep(0.05)
    assert not closing.done()  # the session is in use: close waits for its user
    release.set()
    assert await reader == 1
    await closing
    with pytest.raises(OperationEnded):
        await late
    with pytest.raises(OperationEnded):
        async with gate.write():
            pass
    await nothing_held(engine)


async def test_a_stray_reference_to_a_closed_session_refuses_work(
    sessions: SessionFactory, engine: AsyncEngine
) -> None:
    gate = _gate(sessions)
    async with gate.read() as session:
        await session.execute(text("SELECT 1"))
    await gate.close()
    with pytest.raises(InvalidRequestError):
        await session.execute(text("SELECT 1"))
    assert checked_out(engine) == 0


async def test_cancelled_while_closing_still_releases(
    sessions: SessionFactory, engine: AsyncEngine
) -> None:
    gate = _gate(sessions)
    inside, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with gate.read() as session:
            await session.execute(text("SELECT 1"))
            inside.set()
            await release.wait()

    task = asyncio.create_task(holder())
    await inside.wait()
    closer = asyncio.create_task(gate.close())
    await asyncio.sleep(0.01)
    closer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closer
    release.set()
    await task
    await nothing_held(engine)


async def test_write_blocks_commit_or_roll_back_whole(
    sessions: SessionFactory, engine: AsyncEngine
) -> None:
    gate = _gate(sessions)

    async def failing_unit() -> None:
        async with gate.write() as session:
            await session.execute(text("SELECT 1"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await failing_unit()
    await gate.close()
    await nothing_held(engine)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_sqlite_reads_neither_take_nor_wait_for_the_write_lock(
    sessions: SessionFactory, engine: AsyncEngine
) -> None:
    gate = _gate(sessions)
    # Another writer holds the lock: a read block answers at once.
    with sqlite_write_lock(engine):
        started = time.monotonic()
        async with gate.read() as session:
            assert await session.scalar(text("SELECT count(*) FROM users")) is not None
            # ...and while the read is open, it holds no lock a writer would wait for.
        assert time.monotonic() - started < 0.5
    async with gate.read() as session:
        await session.scalar(text("SELECT count(*) FROM users"))
        writer = sqlite3.connect(sqlite_path(engine), timeout=0, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("COMMIT")
        finally:
            writer.close()
    await gate.close()
    await nothing_held(engine)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_sqlite_write_waits_a_bounded_time_then_says_busy(
    sessions: SessionFactory, engine: AsyncEngine
) -> None:
    from editai.graphql.errors import as_app_error

    gate = _gate(sessions)
    started = time.monotonic()
    with sqlite_write_lock(engine), pytest.raises(Exception) as raised:  # noqa: PT011
        async with gate.write():
            pass
    waited = time.monotonic() - started
    busy = as_app_error(raised.value)
    assert busy is not None, raised.value
    assert busy.extensions == {"retryable": True}
    assert busy.message == "The database is busy; try again"
    assert waited < 10  # EDITAI_SQLITE_BUSY_TIMEOUT_SECONDS (5 s) plus slack
    await gate.close()
    await nothing_held(engine)
