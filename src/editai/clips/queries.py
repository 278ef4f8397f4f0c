from __future__ import annotations

import strawberry

from editai.clips.repository import ClipRepository
from editai.clips.types import Clip
from editai.errors import NotFound
from editai.graphql.context import Info
from editai.graphql.ids import parse_id


@strawberry.type
class ClipQuery:
    @strawberry.field
    async def clip(self, info: Info, id: strawberry.ID) -> Clip:
        info.context.profile()
        clip_id = parse_id(id, "Clip")
        async with info.context.db() as session:
            clip = await ClipRepository(session).get(clip_id)
        if clip is None:
            raise NotFound("Clip not found")
        return Clip.from_model(clip)
