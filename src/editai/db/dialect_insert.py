"""``INSERT`` with the dialect's own extensions (``ON CONFLICT``), for either backend."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession) -> Any:
    """PostgreSQL's or SQLite's ``insert`` (both offer ``on_conflict_do_nothing``)."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
