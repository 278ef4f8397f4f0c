"""UTCDateTime gives timezone-aware UTC datetimes, whatever the driver returned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy.dialects import postgresql, sqlite

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
