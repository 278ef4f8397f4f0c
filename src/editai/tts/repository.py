"""All SQL about voiceovers (profile filter added by the tenant hook)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from editai.tts.models import Voiceover


class VoiceoverRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, voiceover_id: uuid.UUID) -> Voiceover | None:
        return await self.session.scalar(select(Voiceover).where(Voiceover.id == voiceover_id))

    def add(self, voiceover: Voiceover) -> None:
        self.session.add(voiceover)

    async def for_projects(
        self, project_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[Voiceover]]:
        """Each project's voiceovers, newest first, in one query."""
        stmt = (
            select(Voiceover)
            .where(Voiceover.project_id.in_(project_ids))
            .order_by(Voiceover.created_at.desc(), Voiceover.id.desc())
        )
        grouped: dict[uuid.UUID, list[Voiceover]] = defaultdict(list)
        for row in (await self.session.scalars(stmt)).all():
            grouped[row.project_id].append(row)
        return grouped

    async def delete(self, voiceover_id: uuid.UUID) -> int:
        result = await self.session.execute(delete(Voiceover).where(Voiceover.id == voiceover_id))
        return int(getattr(result, "rowcount", 0) or 0)
