"""All SQL about clips."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from editai.clips.models import Clip
from editai.db.rows import mapped_columns
from editai.pagination import Cursor, newest_first_after


class ClipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, clip_id: uuid.UUID) -> Clip | None:
        return await self.session.scalar(select(Clip).where(Clip.id == clip_id))

    def add(self, clip: Clip) -> None:
        self.session.add(clip)

    async def get_many(self, ids: Sequence[uuid.UUID]) -> Sequence[Clip]:
        return (await self.session.scalars(select(Clip).where(Clip.id.in_(ids)))).all()

    async def first_per_project(
        self, project_ids: Sequence[uuid.UUID], limit: int, after: Cursor | None
    ) -> dict[uuid.UUID, list[Any]]:
        """Up to ``limit`` clips of each project, newest first, in ONE query (window function).

        Rows with the clip's attributes, not instances (db/rows.py): a read-only page."""
        rank = (
            func.row_number()
            .over(partition_by=Clip.project_id, order_by=(Clip.created_at.desc(), Clip.id.desc()))
            .label("rank")
        )
        inner = select(Clip, rank).where(Clip.project_id.in_(project_ids))
        if after is not None:
            inner = inner.where(newest_first_after(Clip.created_at, Clip.id, after))
        ranked = inner.subquery()
        clip = aliased(Clip, ranked)
        stmt = (
            select(*mapped_columns(clip))
            .where(ranked.c.rank <= limit)
            .order_by(ranked.c.project_id, ranked.c.rank)
        )
        grouped: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for row in (await self.session.execute(stmt)).all():
            grouped[row.project_id].append(row)
        return grouped
