"""Which queued job a claim takes: fair across profiles (the default), or plain FIFO.

Fair is weighted fair queuing by running jobs: among the profiles that have a runnable
job, the one with the fewest RUNNING jobs, then the one served least recently (its newest
``started_at``), then that profile's oldest runnable job. A profile with 100 queued jobs
keeps only the slots it already holds: the next free slot goes to a profile running
fewer, so another profile's single job waits for one slot at most, not 100 jobs.

The ranking reads without locks: a count that is a moment stale only makes the order a
little less fair. The per-profile cap (``job_max_running_per_profile``) must be exact
across any number of workers, so on PostgreSQL a capped claim holds a transaction-scoped
advisory lock on the profile while it counts the profile's RUNNING jobs and marks one
more: a second worker counts only after the first one's commit (READ COMMITTED takes a
new snapshot per statement). Deadlock-free by construction: a claim waits for at most
one lock, its first, while it holds none; every further profile it tries is a try-lock
(busy: skipped). SQLite needs neither: every write transaction begins IMMEDIATE, so
claims run one at a time.

Jobs whose profile was deleted (``profile_id`` NULL) form one group of their own, with no
running count and no cap; their tasks fail at once ("the profile no longer exists").
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    ScalarSelect,
    Select,
    Subquery,
    and_,
    bindparam,
    func,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from editai.db.locks import lock_profile as lock_profile_for
from editai.jobs.models import Job, JobStatus
from editai.settings import ClaimOrder

# How many ranked profiles one claim tries (each skipped one is at its cap, locked by
# another claim, or its jobs were just taken) before it reports nothing to do.
PROFILES_PER_CLAIM = 10
# First key of the advisory locks: the claim's namespace ("jobs"), so that no other
# advisory lock of the application can collide with a profile's.
_LOCK_NAMESPACE = 0x6A6F6273


# The ranking is built once per (order, capped) and run with these parameters: building
# it (aliases, subqueries, a recursive CTE) costs several milliseconds of Python, more
# than running it.
_NOW = bindparam("claim_now", type_=Job.__table__.c.run_after.type)
_KINDS: BindParameter[Any] = bindparam("claim_kinds", expanding=True)
_CAP: BindParameter[Any] = bindparam("claim_cap")


def _runnable_of(
    job: type[Job], now: datetime | BindParameter[Any], kinds: Collection[str] | BindParameter[Any]
) -> ColumnElement[bool]:
    return and_(job.status == JobStatus.QUEUED, job.run_after <= now, job.kind.in_(kinds))


def _runnable(now: datetime, kinds: Collection[str]) -> ColumnElement[bool]:
    return _runnable_of(Job, now, kinds)


async def oldest_runnable(
    session: AsyncSession,
    now: datetime,
    kinds: Collection[str],
    profile_id: uuid.UUID | None,
    *,
    any_profile: bool = False,
) -> uuid.UUID | None:
    """The oldest runnable job (of one profile, or of all), locked; skips locked rows."""
    statement = select(Job.id).where(_runnable(now, kinds))
    if not any_profile:
        statement = statement.where(
            Job.profile_id.is_(None) if profile_id is None else Job.profile_id == profile_id
        )
    job_id: uuid.UUID | None = await session.scalar(
        statement.order_by(Job.run_after, Job.created_at).limit(1).with_for_update(skip_locked=True)
    )
    return job_id


def ranking_parameters(now: datetime, kinds: Collection[str], cap: int | None) -> dict[str, object]:
    return {"claim_now": now, "claim_kinds": sorted(kinds), "claim_cap": cap}


def ranking(
    now: datetime, kinds: Collection[str], *, order: ClaimOrder, cap: int | None
) -> Select[uuid.UUID | None]:
    """The ranking with its values bound (for EXPLAIN: bench/fair_scheduling.py)."""
    return _ranking(order, cap is not None).params(ranking_parameters(now, kinds, cap))


@functools.cache
def _ranking(order: ClaimOrder, capped: bool) -> Select[uuid.UUID | None]:
    """Profiles with a runnable job, the next to serve first (below the cap, if any)."""
    queued = _queued_profiles(_NOW, _KINDS)
    running_job, started_job = aliased(Job), aliased(Job)
    running = (
        select(func.count())
        .select_from(running_job)
        .where(
            running_job.status == JobStatus.RUNNING,
            running_job.profile_id == queued.c.profile_id,
        )
        .correlate(queued)
        .scalar_subquery()
    )
    last_started = (
        select(func.max(started_job.started_at))
        .where(started_job.profile_id == queued.c.profile_id)
        .correlate(queued)
        .scalar_subquery()
    )
    ranked = select(
        queued.c.profile_id,
        queued.c.first_run_after,
        running.label("running"),
        last_started.label("last_started"),
    ).subquery("ranked")
    statement = select(ranked.c.profile_id)
    if capped:
        statement = statement.where(ranked.c.running < _CAP)
    if order is ClaimOrder.fair:
        statement = statement.order_by(
            ranked.c.running,
            ranked.c.last_started.asc().nulls_first(),
            ranked.c.first_run_after,
        )
    else:
        statement = statement.order_by(ranked.c.first_run_after)
    return statement.limit(PROFILES_PER_CLAIM)


def _queued_profiles(now: BindParameter[Any], kinds: BindParameter[Any]) -> Subquery:
    """(profile_id, first_run_after) of every profile with a runnable job.

    Not a GROUP BY over the queue, which reads every queued row on every claim: a loose
    index scan (a recursive CTE stepping from one profile id to the next along the
    partial index ix_jobs_queued_profile) finds the P profiles with queued jobs in P
    index probes, then one probe each finds its first runnable job. The jobs of deleted
    profiles (profile_id NULL) join as one more candidate.
    """
    step = aliased(Job)
    first = (
        select(Job.profile_id)
        .where(Job.status == JobStatus.QUEUED, Job.profile_id.is_not(None))
        .order_by(Job.profile_id)
        .limit(1)
        .scalar_subquery()
    )
    walk = select(first.label("profile_id")).cte("queued_profiles", recursive=True)
    following = (
        select(step.profile_id)
        .where(step.status == JobStatus.QUEUED, step.profile_id > walk.c.profile_id)
        .order_by(step.profile_id)
        .limit(1)
        .scalar_subquery()
    )
    walk = walk.union_all(
        select(following.label("profile_id")).where(walk.c.profile_id.is_not(None))
    )
    head = aliased(Job)

    def first_run_after(owner: ColumnElement[bool]) -> ScalarSelect[datetime]:
        return (
            select(head.run_after)
            .where(_runnable_of(head, now, kinds), owner)
            .order_by(head.run_after)
            .limit(1)
            .scalar_subquery()
        )

    candidates = union_all(
        select(
            walk.c.profile_id,
            first_run_after(head.profile_id == walk.c.profile_id).label("first_run_after"),
        ).where(walk.c.profile_id.is_not(None)),
        select(
            null().label("profile_id"),
            first_run_after(head.profile_id.is_(None)).label("first_run_after"),
        ),
    ).subquery("candidates")
    return (
        select(candidates.c.profile_id, candidates.c.first_run_after)
        .where(candidates.c.first_run_after.is_not(None))
        .subquery("queued")
    )


async def lock_profile(session: AsyncSession, profile_id: uuid.UUID, *, wait: bool) -> bool:
    """Hold the profile's claim lock until the transaction ends (PostgreSQL)."""
    return await lock_profile_for(session, _LOCK_NAMESPACE, profile_id, wait=wait)


async def running_count(session: AsyncSession, profile_id: uuid.UUID) -> int:
    count: int | None = await session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.status == JobStatus.RUNNING, Job.profile_id == profile_id)
    )
    return count or 0


@dataclass(frozen=True, slots=True)
class Pick:
    job_id: uuid.UUID | None  # the job taken, its row locked (FOR UPDATE)
    # A profile was skipped because another claim held its lock: try again, at once.
    contended: bool = False


async def pick_job(
    session: AsyncSession,
    now: datetime,
    kinds: Collection[str],
    *,
    order: ClaimOrder,
    cap: int | None,
) -> Pick:
    """The job this claim takes; ``Pick(None)``: nothing runnable (or all at their cap)."""
    if order is ClaimOrder.fifo and cap is None:  # the claim as it was before issue 11
        return Pick(await oldest_runnable(session, now, kinds, None, any_profile=True))
    locking = cap is not None and session.get_bind().dialect.name == "postgresql"
    holding, contended = False, False
    ranked = await session.scalars(
        _ranking(order, cap is not None), ranking_parameters(now, kinds, cap)
    )
    for profile_id in ranked.all():
        if cap is not None and profile_id is not None:
            if locking:
                if not await lock_profile(session, profile_id, wait=not holding):
                    contended = True  # another claim is counting this profile right now
                    continue
                holding = True
            # Counted again under the lock: the ranking's count may be stale.
            if await running_count(session, profile_id) >= cap:
                continue
        job_id = await oldest_runnable(session, now, kinds, profile_id)
        if job_id is not None:
            return Pick(job_id)
    return Pick(None, contended)
