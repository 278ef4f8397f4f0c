"""All SQL about segments."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from editai.segments.models import Segment, SegmentKind


class SegmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_projects(
        self, project_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[Segment]]:
        stmt = (
            select(Segment)
            .where(Segment.project_id.in_(project_ids))
            .order_by(Segment.project_id, Segment.start_seconds, Segment.id)
        )
        grouped: dict[uuid.UUID, list[Segment]] = defaultdict(list)
        for row in (await self.session.scalars(stmt)).all():
            grouped[row.project_id].append(row)
        return grouped

    async def replace_for_project(
        self,
        project_id: uuid.UUID,
        segments: Sequence[Segment],
        kinds: Collection[SegmentKind] | None = None,
    ) -> None:
        """The project's segments (only those of ``kinds``, when given) become ``segments``."""
        stmt = delete(Segment).where(Segment.project_id == project_id)
        if kinds is not None:
            stmt = stmt.where(Segment.kind.in_(list(kinds)))
        await self.session.execute(stmt)
        self.session.add_all(segments)
        await self.session.flush()
