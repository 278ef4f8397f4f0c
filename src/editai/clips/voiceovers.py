"""The one query the clips domain needs about voice-overs: an export lays one on its clips.

Kept here (not in the tts domain) so the export reads voice-overs without depending on
how that domain organizes its own repository. Scoped like every tenant query: the
session's profile filter applies, so another profile's voice-over is simply not found.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from editai.tts.models import Voiceover


async def voiceover_for_export(session: AsyncSession, voiceover_id: uuid.UUID) -> Voiceover | None:
    return await session.scalar(select(Voiceover).where(Voiceover.id == voiceover_id))
