"""UTCDateTime gives timezone-aware UTC datetimes, whatever the driver returned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import cast, literal, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.db.base import UTCDateTime


def test_results_are_aware_utc_datetimes_of_the_same_instant() -> None:
    column = UTCDateTime()
    pg, lite = postgresql.dialect(), sqlite.dialect()
    aware = datetime(2026, 1, 1, 12, 0, 0, 15, tzinfo=UTC)
    assert column.process_result_value(aware, pg) is aware  # asyncpg's: kept as it is
    plus_two = aware.astimezone(timezone(timedelta(hours=2)))
    converted = column.process_result_value(plus_two, pg)
    assert converted == aware
    assert converted.tzinfo is UTC
    assert converted.isoformat() == "2026-01-01T12:00:00.000015+00:00"
    naive = column.process_result_value(datetime(2026, 1, 1, 12, 0, 0, 15), lite)
    assert naive == aware
    assert naive.tzinfo is UTC
    assert column.process_result_value(None, pg) is None


def test_asyncpg_results_are_taken_as_they_come() -> None:
    # asyncpg decodes timestamptz to aware UTC datetimes itself: no processor per value.
    assert UTCDateTime().result_processor(postgresql.asyncpg.dialect(), None) is None
    assert UTCDateTime().result_processor(postgresql.psycopg.dialect(), None) is not None


@pytest.mark.postgres
async def test_postgres_reads_are_aware_utc_whatever_the_session_time_zone(
    pg_engine: AsyncEngine,
) -> None:
    instant = datetime(2026, 3, 29, 1, 30, 0, 7, tzinfo=UTC)
    column = literal(instant, UTCDateTime()).label("at")
    async with pg_engine.connect() as conn:
        await conn.execute(text("SET TIME ZONE 'Asia/Kolkata'"))
        assert await conn.scalar(text("SELECT now()::text LIKE '%+05:30'"))
        value = await conn.scalar(select(cast(column, UTCDateTime())))
    assert value == instant
    assert value.tzinfo is UTC
    assert value.isoformat() == "2026-03-29T01:30:00.000007+00:00"
