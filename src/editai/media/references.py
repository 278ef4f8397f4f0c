"""Which stored keys rows still name (for the orphan sweeper). All its SQL is here."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from editai.clips.models import Clip
from editai.projects.models import Project
from editai.tts.models import Voiceover

CHUNK = 500  # keys per IN list


class MediaReferenceRepository:
    """Needs a system session: the sweeper looks across every profile."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def named(self, keys: Sequence[str]) -> set[str]:
        """The subset of ``keys`` that some row points at."""
        columns = (Project.source_path, Clip.media_path, Clip.export_path, Voiceover.media_path)
        found: set[str] = set()
        for start in range(0, len(keys), CHUNK):
            chunk = list(keys[start : start + CHUNK])
            for column in columns:
                rows = await self.session.scalars(select(column).where(column.in_(chunk)))
                found.update(key for key in rows if key)
        return found
