"""Recording paid calls as costs of the profile (and job) that made them.

Record a cost in its own short transaction right after the paid call returns: the money
is spent even if the job fails later, so the cost must not roll back with the job.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from editai.costs.models import ApiCost
from editai.costs.repository import CostLine, CostRepository, OperatorCostLine
from editai.errors import BadUserInput
from editai.settings import Settings

ELEVENLABS = "elevenlabs"
GEMINI = "gemini"
MICRO_USD = Decimal("0.000001")


def _usd(quantity: float, rate: float, per: int) -> Decimal:
    value = Decimal(str(quantity)) * Decimal(str(rate)) / Decimal(per)
    return value.quantize(MICRO_USD, rounding=ROUND_HALF_UP)


class CostRecorder:
    """Prices a call with the rates from settings and adds it to the session's profile."""

    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.repo = CostRepository(session)
        self.settings = settings

    async def record(
        self,
        *,
        provider: str,
        operation: str,
        units: str,
        quantity: float,
        cost_usd: Decimal,
        job_id: uuid.UUID | None,
    ) -> ApiCost:
        cost = ApiCost(
            provider=provider,
            operation=operation,
            units=units,
            quantity=quantity,
            cost_usd=cost_usd,
            job_id=job_id,
        )
        self.repo.add(cost)
        await self.repo.session.flush()
        return cost

    async def elevenlabs_characters(
        self, characters: int, *, job_id: uuid.UUID | None, operation: str = "text_to_speech"
    ) -> ApiCost:
        return await self.record(
            provider=ELEVENLABS,
            operation=operation,
            units="characters",
            quantity=characters,
            cost_usd=_usd(characters, self.settings.elevenlabs_usd_per_1k_characters, 1000),
            job_id=job_id,
        )

    async def gemini_tokens(
        self,
        input_tokens: int,
        output_tokens: int,
        *,
        job_id: uuid.UUID | None,
        operation: str = "generate_content",
    ) -> list[ApiCost]:
        """Two rows: prompt and answer tokens are priced differently."""
        s = self.settings
        return [
            await self.record(
                provider=GEMINI,
                operation=operation,
                units="input_tokens",
                quantity=input_tokens,
                cost_usd=_usd(input_tokens, s.gemini_usd_per_1m_input_tokens, 1_000_000),
                job_id=job_id,
            ),
            await self.record(
                provider=GEMINI,
                operation=operation,
                units="output_tokens",
                quantity=output_tokens,
                cost_usd=_usd(output_tokens, s.gemini_usd_per_1m_output_tokens, 1_000_000),
                job_id=job_id,
            ),
        ]


@dataclass(frozen=True)
class ProfileCosts:
    since: datetime | None
    until: datetime | None
    lines: list[CostLine]

    @property
    def total_usd(self) -> Decimal:
        return sum((line.cost_usd for line in self.lines), Decimal("0"))

    @property
    def by_provider(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = {}
        for line in self.lines:
            totals[line.provider] = totals.get(line.provider, Decimal("0")) + line.cost_usd
        return totals


def _period(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise BadUserInput("since must be before until", field="since")


def _aware(value: datetime | None) -> datetime | None:
    """A timestamp without a zone is taken as UTC (what every stored timestamp is)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class CostReport:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = CostRepository(session)

    async def for_profile(self, since: datetime | None, until: datetime | None) -> ProfileCosts:
        """The session's profile only (the tenant hook and RLS scope the query)."""
        since, until = _aware(since), _aware(until)
        _period(since, until)
        return ProfileCosts(since, until, await self.repo.summary(since, until))

    async def for_operator(
        self, since: datetime | None, until: datetime | None
    ) -> list[OperatorCostLine]:
        """Every profile, and "Legacy" for costs whose profile was deleted: system session."""
        since, until = _aware(since), _aware(until)
        _period(since, until)
        return await self.repo.operator_summary(since, until)
