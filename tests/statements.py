"""Recording the SQL an engine sends, for tests that count or inspect statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK"}


@contextmanager
def recorded_statements(engine: AsyncEngine, *, transactions: bool = True) -> Iterator[list[str]]:
    """The statements ``engine`` sends while the block runs, as sent. Without
    ``transactions``, BEGIN/COMMIT/ROLLBACK are left out (SQLite's pysqlite sends them
    around every read block)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if transactions or statement.split(None, 1)[0].upper() not in TRANSACTION_CONTROL:
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
