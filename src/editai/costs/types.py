from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from editai.costs.repository import CostLine as CostLineValue


@strawberry.type(description="Paid calls of one kind: provider, operation and unit.")
class CostLine:
    provider: str = strawberry.field(description="elevenlabs, gemini, ...")
    operation: str = strawberry.field(description="text_to_speech, generate_content, ...")
    units: str = strawberry.field(description="characters, input_tokens, output_tokens, ...")
    calls: int = strawberry.field(description="Recorded calls.")
    quantity: float = strawberry.field(description="Units used in all, e.g. characters billed.")
    cost_usd: Decimal

    @classmethod
    def from_value(cls, v: CostLineValue) -> CostLine:
        return cls(
            provider=v.provider,
            operation=v.operation,
            units=v.units,
            calls=v.calls,
            quantity=v.quantity,
            cost_usd=v.cost_usd,
        )


@strawberry.type
class ProviderCost:
    provider: str
    cost_usd: Decimal


@strawberry.type(description="What the current profile's paid API calls cost in a period.")
class CostSummary:
    since: datetime | None = strawberry.field(description="Inclusive; null: from the start.")
    until: datetime | None = strawberry.field(description="Exclusive; null: up to now.")
    total_usd: Decimal
    by_provider: list[ProviderCost]
    lines: list[CostLine] = strawberry.field(description="By provider, operation and unit.")
