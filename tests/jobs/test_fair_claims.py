"""Tenant-fair claims (issue 11): one profile's backlog does not starve another's job.

Profile A queues a backlog of short real encodes, then profile B queues one job. With
the fair order, B's job takes the next free slot: at most one A job per worker slot can
start between B's enqueue and B's start (a claim already under way as B commits), never
the backlog. The FIFO order (the claim before issue 11) is run the same way to show the
assertion bites. Times come from the jobs rows (``created_at``, ``started_at``), and the
assertion counts starts rather than measuring seconds: it holds on a busy machine.

The per-profile cap is raced by many concurrent claimers on their own connections, and
must hold exactly, on PostgreSQL (advisory lock per profile) and SQLite (one writer).
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.db.base import utcnow
from editai.jobs.claims import PROFILES_PER_CLAIM
from editai.jobs.models import Job, JobStatus
from editai.jobs.queue import JobQueue
from editai.profiles.models import Profile
from editai.runtime import Runtime
from editai.settings import ClaimOrder, Settings
from tests.jobs.conftest import (
    Tenant,
    WorkerProcess,
    enqueue,
    load_job,
    make_tenant,
    running_worker,
    wait_status,
)
from tests.jobs.handlers import IDLE_KIND, KIND

SLOTS = 2  # two workers of one slot each (processes), or one worker of two (in-process)
SECONDS = 0.3


async def a_started_while_b_waited(runtime: Runtime, a: Tenant, b_job: uuid.UUID) -> int:
    """How many of A's jobs started after B's job was queued and before it started."""
    b = await load_job(runtime, b_job)
    assert b.started_at is not None
    async with runtime.sessions.system_transaction() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Job)
            .where(
                Job.profile_id == a.profile_id,
                Job.started_at > b.created_at,
                Job.started_at < b.started_at,
            )
        )
    return int(count or 0)


async def backlog_then_one(runtime: Runtime, a: Tenant, b: Tenant, backlog: int) -> uuid.UUID:
    """A queues ``backlog`` jobs and has them running in every slot; then B queues one."""
    a_jobs = [await enqueue(runtime, a, {"seconds": SECONDS}) for _ in range(backlog)]

    async def a_fills_the_slots() -> bool:
        async with runtime.sessions.system_transaction() as session:
            running = await session.scalar(
                select(func.count()).select_from(Job).where(Job.status == JobStatus.RUNNING)
            )
        return running == SLOTS

    for _ in range(400):  # bounded: the workers pick A's jobs up within seconds
        if await a_fills_the_slots():
            break
        await asyncio.sleep(0.05)
    assert await a_fills_the_slots(), "A's jobs never filled the worker slots"
    assert (await load_job(runtime, a_jobs[-1])).status is JobStatus.QUEUED
    return await enqueue(runtime, b, {"seconds": SECONDS})


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize(("order", "backlog"), [(ClaimOrder.fair, 50), (ClaimOrder.fifo, 12)])
async def test_two_workers_serve_b_within_one_slot(
    runtime: Runtime,
    settings: Settings,
    tmp_path: Path,
    worker_processes: list[WorkerProcess],
    order: ClaimOrder,
    backlog: int,
) -> None:
    a = await make_tenant(runtime.sessions)
    b = await make_tenant(runtime.sessions)
    for n in range(SLOTS):
        worker_processes.append(
            WorkerProcess(
                settings.database_url,
                settings.temp_root,
                tmp_path / "runs.jsonl",
                f"w{n}",
                tmp_path / f"w{n}.log",
                concurrency=1,
                claim_order=order.value,
            )
        )
    await asyncio.gather(*(w.ready() for w in worker_processes))

    b_job = await backlog_then_one(runtime, a, b, backlog)
    done = await wait_status(runtime, b_job, within=60.0 + backlog * SECONDS)
    assert done.status is JobStatus.SUCCEEDED

    overtaken = await a_started_while_b_waited(runtime, a, b_job)
    if order is ClaimOrder.fair:
        # Each worker may have been claiming as B committed: one A job per slot at most.
        assert overtaken <= SLOTS
    else:  # FIFO: every A job queued before B's ran first (all but the two running).
        assert overtaken == backlog - SLOTS


async def test_fair_order_in_one_worker(runtime: Runtime) -> None:
    """The same on both backends (SQLite: the embedded worker), one worker of two slots."""
    a = await make_tenant(runtime.sessions)
    b = await make_tenant(runtime.sessions)
    async with running_worker(runtime, concurrency=SLOTS):
        b_job = await backlog_then_one(runtime, a, b, 20)
        done = await wait_status(runtime, b_job, within=60.0)
    assert done.status is JobStatus.SUCCEEDED
    assert await a_started_while_b_waited(runtime, a, b_job) <= SLOTS


async def running_per_profile(runtime: Runtime) -> dict[uuid.UUID | None, int]:
    async with runtime.sessions.system_transaction() as session:
        rows = (
            await session.execute(
                select(Job.profile_id, func.count())
                .where(Job.status == JobStatus.RUNNING)
                .group_by(Job.profile_id)
            )
        ).all()
    return {profile_id: int(count) for profile_id, count in rows}


async def test_cap_holds_with_many_concurrent_claimers(runtime: Runtime) -> None:
    """16 claimers race, round after round: never more than the cap RUNNING per profile."""
    cap, claimers, rounds = 2, 16, 6
    queue = JobQueue(runtime.sessions, runtime.events, max_running_per_profile=cap)
    tenants = [await make_tenant(runtime.sessions) for _ in range(3)]
    for tenant in tenants:
        for _ in range(cap * rounds):
            await enqueue(runtime, tenant)
    kinds = {KIND}
    for round_no in range(rounds):
        claimed = await asyncio.gather(
            *(queue.claim(f"claimer-{n}", kinds) for n in range(claimers))
        )
        taken = [job for job in claimed if job is not None]
        # Exactly the cap per profile: none over it, and the fair order left none idle.
        assert await running_per_profile(runtime) == {t.profile_id: cap for t in tenants}, (
            f"round {round_no}"
        )
        assert len({job.id for job in taken}) == len(taken) == cap * len(tenants)
        # A claimer's job done frees its slot for the next round.
        for n, job in enumerate(claimed):
            if job is not None:
                assert await queue.succeed(job.id, f"claimer-{n}", {})
    async with runtime.sessions.system_transaction() as session:
        left = await session.scalar(
            select(func.count()).select_from(Job).where(Job.status != JobStatus.SUCCEEDED)
        )
    assert left == 0


async def test_jobs_of_a_deleted_profile_are_still_claimed(runtime: Runtime) -> None:
    """profile_id NULL (profile deleted): claimed and finished as before, cap or not."""
    queue = JobQueue(runtime.sessions, runtime.events, max_running_per_profile=1)
    gone, kept = await make_tenant(runtime.sessions), await make_tenant(runtime.sessions)
    orphan = await enqueue(runtime, gone, without_project=True)
    other = await enqueue(runtime, kept)
    async with runtime.sessions.system_transaction() as session:
        await session.execute(delete(Profile).where(Profile.id == gone.profile_id))
    assert (await load_job(runtime, orphan)).profile_id is None

    first = await queue.claim("w", {KIND})
    second = await queue.claim("w", {KIND})
    assert first is not None
    assert second is not None
    assert {first.id, second.id} == {orphan, other}
    assert await queue.claim("w", {KIND}) is None


async def test_profiles_take_turns(runtime: Runtime) -> None:
    """One slot, three profiles queued in turn: the claims go A, B, C, A, B, C, ..."""
    queue = JobQueue(runtime.sessions, runtime.events)
    tenants = [await make_tenant(runtime.sessions) for _ in range(3)]
    for tenant in tenants:  # A's jobs are all older than B's, B's than C's
        for _ in range(3):
            await enqueue(runtime, tenant)
    served = []
    while (job := await queue.claim("w", {KIND})) is not None:
        served.append(job.profile_id)
        assert await queue.succeed(job.id, "w", {})
    assert served == [t.profile_id for t in tenants] * 3


async def test_profiles_with_nothing_runnable_do_not_use_up_the_claim(runtime: Runtime) -> None:
    """More profiles than one claim tries have only jobs in backoff or of another kind."""
    queue = JobQueue(runtime.sessions, runtime.events, max_running_per_profile=1)
    waiting = [await make_tenant(runtime.sessions) for _ in range(PROFILES_PER_CLAIM + 2)]
    for n, tenant in enumerate(waiting):
        if n % 2:
            await enqueue(runtime, tenant, kind=IDLE_KIND)
        else:
            job_id = await enqueue(runtime, tenant)
            async with runtime.sessions.system_transaction() as session:
                await session.execute(
                    update(Job)
                    .where(Job.id == job_id)
                    .values(run_after=utcnow() + timedelta(hours=1))
                )
    ready = await make_tenant(runtime.sessions)
    job_id = await enqueue(runtime, ready)
    claimed = await queue.claim("w", {KIND})
    assert claimed is not None
    assert claimed.id == job_id
    assert await queue.claim("w", {KIND}) is None


async def test_the_cap_setting_holds_in_a_worker(settings: Settings, engine: AsyncEngine) -> None:
    """EDITAI_JOB_MAX_RUNNING_PER_PROFILE=1 through Runtime: a profile's jobs never overlap."""
    capped = Runtime(settings.model_copy(update={"job_max_running_per_profile": 1}), engine)
    await capped.events.start()
    try:
        a, b = await make_tenant(capped.sessions), await make_tenant(capped.sessions)
        jobs = [await enqueue(capped, t, {"seconds": SECONDS}) for t in (a, a, a, b, b)]
        async with running_worker(capped, concurrency=3):
            for job_id in jobs:
                assert (await wait_status(capped, job_id, within=60.0)).status is (
                    JobStatus.SUCCEEDED
                )
        rows = [await load_job(capped, job_id) for job_id in jobs]
    finally:
        await capped.events.stop()
    for tenant in (a, b):
        spans = sorted(
            (r.started_at, r.finished_at) for r in rows if r.profile_id == tenant.profile_id
        )
        for (_, finished), (started, _) in itertools.pairwise(spans):
            assert finished is not None
            assert started is not None
            assert started >= finished  # the next one began only after the last ended
