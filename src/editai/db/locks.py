"""Per-profile locks held until the transaction ends, for checks that must not race.

PostgreSQL: transaction-scoped advisory locks keyed by (namespace, profile). Each user of
these locks has its own namespace, so that no two kinds of lock collide. SQLite: nothing
to take; one transaction writes at a time, so a caller that has written before it checks
is already serialized with every other writer.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


def profile_lock_key(profile_id: uuid.UUID) -> int:
    """A signed 32-bit key from the profile id (a collision only serializes two profiles)."""
    return int.from_bytes(profile_id.bytes[:4], "big", signed=True)


async def lock_profile(
    session: AsyncSession, namespace: int, profile_id: uuid.UUID, *, wait: bool = True
) -> bool:
    """Hold the profile's lock of ``namespace`` until the transaction ends; without
    ``wait``, False when another transaction holds it. Always True on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    params = {"ns": namespace, "key": profile_lock_key(profile_id)}
    if wait:
        await session.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"), params)
        return True
    got: bool | None = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:ns, :key)"), params
    )
    return bool(got)
