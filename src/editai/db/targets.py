"""The rows a write is about, checked before the write begins.

A write that names a row its scope cannot see (another profile's id, an unknown one) is
refused ``NOT_FOUND`` by its service, inside the write's transaction. On the embedded
SQLite that transaction holds the database's one write lock (``BEGIN IMMEDIATE``,
db/engine.py), so a refused write first queued behind every real write, and under load
it could wait out the busy timeout and answer "busy" instead of NOT_FOUND. Checking the
targets in a read first (a WAL snapshot: no lock, no wait) refuses it at once. The
service checks again inside the write: a row deleted in between is still NOT_FOUND.

Ids only, never instances: an instance loaded here would sit in the identity map and
the write would see its pre-lock state (the session does not expire on commit).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from editai.errors import NotFound


@dataclass(frozen=True)
class Target:
    """Rows of ``model`` (a tenant-scoped mapped class with an ``id``) a write needs."""

    model: type[Any]
    ids: tuple[uuid.UUID, ...]
    not_found: str  # the service's own message, e.g. "Project not found"

    @classmethod
    def of(cls, model: type[Any], ids: uuid.UUID | Iterable[uuid.UUID], not_found: str) -> Target:
        given = (ids,) if isinstance(ids, uuid.UUID) else tuple(dict.fromkeys(ids))
        return cls(model, given, not_found)


async def require_targets(session: AsyncSession, targets: Sequence[Target]) -> None:
    """NOT_FOUND for the first target with an id the session's scope cannot see.

    The tenant hook scopes these selects like any other (and row-level security on
    PostgreSQL): another profile's id is simply not found.
    """
    for target in targets:
        if not target.ids:
            continue
        column = target.model.id
        seen = set((await session.scalars(select(column).where(column.in_(target.ids)))).all())
        if len(seen) != len(target.ids):
            raise NotFound(target.not_found)
