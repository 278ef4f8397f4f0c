"""Retries: exponential backoff up to max_attempts, then FAILED with a readable error.

The failures are real: FFmpeg exits non-zero on a missing input file.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid

import pytest

from editai.jobs.events import Channel, JobEvent
from editai.jobs.models import JobStatus
from editai.jobs.queue import backoff_seconds
from editai.runtime import Runtime
from tests.jobs.conftest import Tenant, enqueue, load_job, running_worker, wait_status
from tests.jobs.handlers import EncodeHandler


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    assert [backoff_seconds(0.2, n) for n in (1, 2, 3, 4)] == pytest.approx([0.2, 0.4, 0.8, 1.6])
    assert backoff_seconds(2.0, 20) == 300.0
    assert backoff_seconds(2.0, 0) == 2.0


async def _watch_retries(
    runtime: Runtime, job_id: uuid.UUID, delays: dict[int, float], inbox: asyncio.Queue[JobEvent]
) -> None:
    """For each failed attempt: run_after minus the moment it was re-queued."""
    while True:
        event = await inbox.get()
        if event.channel is not Channel.UPDATED or event.job_id != job_id:
            continue
        job = await load_job(runtime, job_id)
        if job.status is JobStatus.QUEUED and job.attempts and job.attempts not in delays:
            delays[job.attempts] = (job.run_after - job.updated_at).total_seconds()


async def test_failing_task_retries_with_exponential_backoff_then_fails(
    runtime: Runtime, tenant: Tenant
) -> None:
    runtime.settings.job_retry_base_seconds = base = 0.1
    handler = EncodeHandler()
    delays: dict[int, float] = {}
    async with runtime.events.subscribe() as inbox:
        job_id = await enqueue(runtime, tenant, {"fail_attempts": 99}, max_attempts=4)
        watcher = asyncio.create_task(_watch_retries(runtime, job_id, delays, inbox))
        try:
            async with running_worker(runtime, handler):
                job = await wait_status(runtime, job_id, within=20)
        finally:
            watcher.cancel()

    assert job.status is JobStatus.FAILED
    assert job.attempts == job.max_attempts == 4
    assert job.error == "FFmpeg failed: ffmpeg exited with code 1"
    assert job.finished_at is not None
    # Re-queued after each of the first three failures: base, 2·base, 4·base.
    assert sorted(delays) == [1, 2, 3]
    assert [delays[n] for n in (1, 2, 3)] == pytest.approx([base, 2 * base, 4 * base], abs=0.02)
    # And the worker honoured them: each attempt started no earlier than its run_after.
    runs = handler.runs
    assert [r.attempt for r in runs] == [1, 2, 3, 4]
    assert all(r.outcome == "failed" for r in runs)
    gaps = [later.start - earlier.end for earlier, later in itertools.pairwise(runs)]
    for gap, expected in zip(gaps, (base, 2 * base, 4 * base), strict=True):
        # Poll interval + claim; the re-queue's own wake-up cannot start it early.
        assert expected - 0.02 <= gap < expected + runtime.settings.worker_poll_seconds + 0.3
    assert gaps[0] < gaps[1] < gaps[2]


async def test_job_failed_error_fails_at_once_without_retry(
    runtime: Runtime, tenant: Tenant
) -> None:
    handler = EncodeHandler()
    async with running_worker(runtime, handler):
        job_id = await enqueue(runtime, tenant, {"seconds": 0.2, "permanent": True})
        job = await wait_status(runtime, job_id)
        await asyncio.sleep(0.3)  # no retry comes (it would after 0.2 s)
    job = await load_job(runtime, job_id)
    assert (job.status, job.attempts, job.max_attempts) == (JobStatus.FAILED, 1, 3)
    assert job.error == "The clip ends after the end of the source video"
    assert [(r.attempt, r.outcome) for r in handler.runs] == [(1, "permanent")]


async def test_retry_succeeds_once_the_cause_is_gone(runtime: Runtime, tenant: Tenant) -> None:
    runtime.settings.job_retry_base_seconds = 0.1
    handler = EncodeHandler()
    async with running_worker(runtime, handler):
        job_id = await enqueue(runtime, tenant, {"seconds": 0.2, "fail_attempts": 2})
        job = await wait_status(runtime, job_id)
    assert (job.status, job.attempts, job.error) == (JobStatus.SUCCEEDED, 3, None)
    assert [(r.attempt, r.outcome) for r in handler.runs] == [
        (1, "failed"),
        (2, "failed"),
        (3, "succeeded"),
    ]
