"""All SQL about costs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from editai.costs.models import ApiCost
from editai.profiles.models import Profile

LEGACY = "Legacy"  # costs whose profile was deleted (profile_id set NULL)


def _micro(value: object) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.000001"))


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
        return [CostLine(p, o, u, int(n), float(q), _micro(c)) for p, o, u, n, q, c in rows]

    async def operator_summary(
        self, since: datetime | None, until: datetime | None
    ) -> list[OperatorCostLine]:
        """Across all profiles (a system session only): a profile's name, or Legacy."""
        query = (
            select(
                ApiCost.profile_id,
                Profile.name,
                ApiCost.provider,
                ApiCost.operation,
                ApiCost.units,
                func.count(ApiCost.id),
                func.coalesce(func.sum(ApiCost.quantity), 0.0),
                func.coalesce(func.sum(ApiCost.cost_usd), 0),
            )
            .outerjoin(Profile, Profile.id == ApiCost.profile_id)
            .group_by(
                ApiCost.profile_id,
                Profile.name,
                ApiCost.provider,
                ApiCost.operation,
                ApiCost.units,
            )
        )
        if since is not None:
            query = query.where(ApiCost.created_at >= since)
        if until is not None:
            query = query.where(ApiCost.created_at < until)
        rows = (await self.session.execute(query)).all()
        lines = [
            OperatorCostLine(
                profile_id=str(pid) if pid is not None else None,
                profile_name=name if pid is not None else LEGACY,
                line=CostLine(p, o, u, int(n), float(q), _micro(c)),
            )
            for pid, name, p, o, u, n, q, c in rows
        ]
        # Legacy last; then by profile name, provider, operation, unit.
        return sorted(
            lines,
            key=lambda x: (
                x.profile_id is None,
                x.profile_name,
                x.profile_id or "",
                x.line.provider,
                x.line.operation,
                x.line.units,
            ),
        )


@dataclass(frozen=True)
class OperatorCostLine:
    profile_id: str | None  # None: Legacy
    profile_name: str
    line: CostLine
