"""All SQL about costs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from editai.costs.models import ApiCost


@dataclass(frozen=True)
class CostLine:
    provider: str
    operation: str
    units: str
    calls: int
    quantity: float
    cost_usd: Decimal


class CostRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, cost: ApiCost) -> None:
        self.session.add(cost)

    async def summary(self, since: datetime | None, until: datetime | None) -> list[CostLine]:
        """Totals of the session's profile by provider, operation and unit (ORM: scoped)."""
        query = select(
            ApiCost.provider,
            ApiCost.operation,
            ApiCost.units,
            func.count(ApiCost.id),
            func.coalesce(func.sum(ApiCost.quantity), 0.0),
            func.coalesce(func.sum(ApiCost.cost_usd), 0),
        ).group_by(ApiCost.provider, ApiCost.operation, ApiCost.units)
        if since is not None:
            query = query.where(ApiCost.created_at >= since)
        if until is not None:
            query = query.where(ApiCost.created_at < until)
        query = query.order_by(ApiCost.provider, ApiCost.operation, ApiCost.units)
        rows = (await self.session.execute(query)).all()
        return [
            CostLine(p, o, u, int(n), float(q), Decimal(str(c)).quantize(Decimal("0.000001")))
            for p, o, u, n, q, c in rows
        ]
