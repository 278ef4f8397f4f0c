from __future__ import annotations

from datetime import datetime

import strawberry

from editai.costs.service import CostReport
from editai.costs.types import CostLine, CostSummary, ProviderCost
from editai.graphql.context import Info


@strawberry.type
class CostQuery:
    @strawberry.field(
        description="Costs of the current profile's paid API calls (ElevenLabs, Gemini), "
        "priced with the configured rates. Costs of deleted profiles never appear here."
    )
    async def cost_summary(
        self, info: Info, since: datetime | None = None, until: datetime | None = None
    ) -> CostSummary:
        info.context.profile()
        async with info.context.db() as session:
            report = await CostReport(session).for_profile(since, until)
        return CostSummary(
            since=report.since,
            until=report.until,
            total_usd=report.total_usd,
            by_provider=[
                ProviderCost(provider=p, cost_usd=c) for p, c in report.by_provider.items()
            ],
            lines=[CostLine.from_value(line) for line in report.lines],
        )
