from __future__ import annotations

import strawberry

from editai.analysis.types import GeminiStatus
from editai.graphql.context import Info


@strawberry.type
class AnalysisQuery:
    @strawberry.field(
        description="Public: whether the server's Gemini API key works (checked with a "
        "free call, cached briefly). No token needed; the key is never shown."
    )
    async def gemini_status(self, info: Info) -> GeminiStatus:
        result = await info.context.services.gemini_status.status()
        return GeminiStatus(
            configured=result.configured,
            ok=result.ok,
            model=result.model,
            error=result.error,
            checked_at=result.checked_at,
        )
