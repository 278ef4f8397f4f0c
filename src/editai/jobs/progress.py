"""Splitting one job's 0..1 progress across its steps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Report = Callable[[float], Awaitable[None]]


def step_progress(report: Report, index: int, count: int, *, start: float = 0.0) -> Report:
    """Progress of step ``index`` of ``count`` equal steps filling [start, 1]."""
    width = (1.0 - start) / max(count, 1)

    async def scaled(fraction: float) -> None:
        await report(start + width * (index + min(max(fraction, 0.0), 1.0)))

    return scaled


def phase_progress(report: Report, low: float, high: float) -> Report:
    """Map a phase's 0..1 onto [low, high] of the job."""

    async def scaled(fraction: float) -> None:
        await report(low + (high - low) * min(max(fraction, 0.0), 1.0))

    return scaled
