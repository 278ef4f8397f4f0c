"""The bytes of media the database records per profile: the storage quota's usage.

Source videos (``projects.source_size_bytes``), generated clips (``clips.size_bytes``),
their exports (``clips.export_size_bytes``) and voice-overs (``voiceovers.size_bytes``).
What a deleted row recorded stops counting with the row (its file goes with it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from editai.clips.models import Clip
from editai.projects.models import Project
from editai.tts.models import Voiceover


class StorageUsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def used_bytes(self, profile_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        """Bytes per profile (0 for one with no media), in three grouped reads.

        In a tenant session the tenant hook also limits every read to its own profile.
        """
        used = dict.fromkeys(profile_ids, 0)
        if not profile_ids:
            return used
        sums = (
            select(Project.profile_id, func.sum(Project.source_size_bytes))
            .where(Project.profile_id.in_(profile_ids))
            .group_by(Project.profile_id),
            select(
                Clip.profile_id,
                func.sum(
                    func.coalesce(Clip.size_bytes, 0) + func.coalesce(Clip.export_size_bytes, 0)
                ),
            )
            .where(Clip.profile_id.in_(profile_ids))
            .group_by(Clip.profile_id),
            select(Voiceover.profile_id, func.sum(Voiceover.size_bytes))
            .where(Voiceover.profile_id.in_(profile_ids))
            .group_by(Voiceover.profile_id),
        )
        for statement in sums:
            for profile_id, total in (await self.session.execute(statement)).all():
                if profile_id is not None:
                    used[profile_id] += int(total or 0)
        return used

    async def largest_source_bytes(self, profile_id: uuid.UUID) -> int:
        """The largest source video of the profile: the most one upload can replace."""
        largest = await self.session.scalar(
            select(func.max(Project.source_size_bytes)).where(Project.profile_id == profile_id)
        )
        return int(largest or 0)
