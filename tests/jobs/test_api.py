"""cancelJob / retryJob / job through the GraphQL API, with a worker running real FFmpeg.

The app is built by the suite's ``app`` fixture (``create_app``, embedded worker off);
the test starts ``Worker(app.state.runtime, task_handlers=...)`` on the app's runtime, so
the API and the worker share the event bus exactly as the embedded worker does.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette

from editai.jobs.models import JobStatus
from editai.jobs.worker import Worker
from editai.runtime import Runtime
from tests.api import Api
from tests.api import TestUser as User  # aliased: pytest would try to collect it
from tests.jobs.conftest import (
    ProcessExit,
    Tenant,
    enqueue,
    files_under,
    pids_referencing,
    running_worker,
    wait_for,
    wait_status,
)
from tests.jobs.handlers import IDLE_KIND, EncodeHandler

JOB_FIELDS = "id kind status progress attempts maxAttempts error result startedAt finishedAt"
CANCEL = f"mutation($id: ID!) {{ cancelJob(id: $id) {{ {JOB_FIELDS} }} }}"
RETRY = f"mutation($id: ID!) {{ retryJob(id: $id) {{ {JOB_FIELDS} }} }}"
JOB = f"query($id: ID!) {{ job(id: $id) {{ {JOB_FIELDS} }} }}"


@pytest.fixture
def runtime(app: Starlette) -> Runtime:
    """The app's own runtime (its event bus is the one the API publishes on)."""
    rt: Runtime = app.state.runtime
    rt.settings.temp_root.mkdir(parents=True, exist_ok=True)
    return rt


@pytest.fixture
def handler() -> EncodeHandler:
    return EncodeHandler()


@pytest.fixture
async def worker(runtime: Runtime, handler: EncodeHandler) -> AsyncIterator[Worker]:
    async with running_worker(runtime, handler) as w:
        yield w


async def _tenant(user: User) -> Tenant:
    project_id = await user.create_project("Jobs")
    return Tenant(uuid.UUID(user.id), uuid.UUID(user.default_profile_id), uuid.UUID(project_id))


async def _job(user: User, job_id: uuid.UUID) -> dict[str, Any]:
    data: dict[str, Any] = (await user.gql(JOB, {"id": str(job_id)})).ok()["job"]
    return data


async def _progressed(user: User, job_id: uuid.UUID) -> bool:
    job = await _job(user, job_id)
    return bool(job["status"] == "RUNNING" and job["progress"] > 0)


async def test_cancel_stops_the_running_ffmpeg_within_a_second(
    api: Api, runtime: Runtime, handler: EncodeHandler, worker: Worker, backend: str
) -> None:
    user = await api.new_user()
    tenant = await _tenant(user)
    job_id = await enqueue(runtime, tenant, {"seconds": 30})
    await wait_for(lambda: _progressed(user, job_id), 10, "the job to be encoding")
    temp_dir = runtime.storage.job_temp_dir(tenant.project_id, job_id)
    [ffmpeg_pid] = pids_referencing(str(temp_dir))
    exit_watch = ProcessExit(ffmpeg_pid)

    sent = time.perf_counter()
    result = await user.gql(CANCEL, {"id": str(job_id)})
    exited = await exit_watch.wait(5)
    latency = exited - sent
    print(f"\ncancelJob -> FFmpeg exit on {backend}: {latency * 1000:.0f} ms")
    assert latency < 1.0

    # Answered while the worker stops it: cancellation requested, not yet recorded.
    answered = result.ok()["cancelJob"]
    assert answered["id"] == str(job_id)
    assert answered["status"] in ("RUNNING", "CANCELLED")
    job = await wait_status(runtime, job_id, within=5)
    assert job.status is JobStatus.CANCELLED
    shown = await _job(user, job_id)
    assert (shown["status"], shown["error"]) == ("CANCELLED", "Cancelled")
    assert shown["finishedAt"] is not None
    assert [(r.attempt, r.outcome) for r in handler.runs] == [(1, "cancelled")]
    assert not temp_dir.exists()
    assert files_under(runtime.settings.temp_root) == []

    # A finished job cannot be cancelled again...
    assert (await user.gql(CANCEL, {"id": str(job_id)})).code == "CONFLICT"
    # ...but it can be retried: it runs again, from attempt 1, and succeeds.
    handler.seconds[job_id] = 0.3
    retried = (await user.gql(RETRY, {"id": str(job_id)})).ok()["retryJob"]
    assert (retried["status"], retried["attempts"], retried["error"]) == ("QUEUED", 0, None)
    assert retried["finishedAt"] is None
    job = await wait_status(runtime, job_id)
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1)
    assert (await _job(user, job_id))["status"] == "SUCCEEDED"
    assert (await user.gql(CANCEL, {"id": str(job_id)})).code == "CONFLICT"
    assert (await user.gql(RETRY, {"id": str(job_id)})).code == "CONFLICT"


async def test_cancel_a_queued_job_cancels_it_at_once(
    api: Api, runtime: Runtime, worker: Worker
) -> None:
    user = await api.new_user()
    tenant = await _tenant(user)
    job_id = await enqueue(runtime, tenant, kind=IDLE_KIND)  # no worker takes this kind
    assert (await _job(user, job_id))["status"] == "QUEUED"
    cancelled = (await user.gql(CANCEL, {"id": str(job_id)})).ok()["cancelJob"]
    assert (cancelled["status"], cancelled["error"]) == ("CANCELLED", "Cancelled")
    assert cancelled["finishedAt"] is not None
    assert cancelled["startedAt"] is None
    assert (await user.gql(CANCEL, {"id": str(job_id)})).code == "CONFLICT"
    # Retried, it is QUEUED again (and stays so: still nobody runs this kind).
    retried = (await user.gql(RETRY, {"id": str(job_id)})).ok()["retryJob"]
    assert retried["status"] == "QUEUED"
    assert (await user.gql(RETRY, {"id": str(job_id)})).code == "CONFLICT"


async def test_retry_a_failed_job_and_not_a_running_one(
    api: Api, runtime: Runtime, handler: EncodeHandler, worker: Worker
) -> None:
    user = await api.new_user()
    tenant = await _tenant(user)
    handler.fail_tags.add("broken")  # FFmpeg fails on it until the cause is "fixed"
    failing = await enqueue(runtime, tenant, {"seconds": 0.3, "tag": "broken"}, max_attempts=1)
    job = await wait_status(runtime, failing)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 1)
    shown = await _job(user, failing)
    assert (shown["status"], shown["error"]) == (
        "FAILED",
        "FFmpeg failed: ffmpeg exited with code 1",
    )
    assert (await user.gql(CANCEL, {"id": str(failing)})).code == "CONFLICT"

    handler.fail_tags.clear()
    retried = (await user.gql(RETRY, {"id": str(failing)})).ok()["retryJob"]
    assert (retried["status"], retried["attempts"], retried["error"]) == ("QUEUED", 0, None)
    job = await wait_status(runtime, failing)
    assert (job.status, job.attempts, job.error) == (JobStatus.SUCCEEDED, 1, None)
    assert [(r.attempt, r.outcome) for r in handler.runs] == [(1, "failed"), (1, "succeeded")]

    running = await enqueue(runtime, tenant, {"seconds": 30})
    await asyncio.wait_for(handler.running_event(running).wait(), 10)
    assert (await user.gql(RETRY, {"id": str(running)})).code == "CONFLICT"
    assert (await _job(user, running))["status"] == "RUNNING"
    (await user.gql(CANCEL, {"id": str(running)})).ok()
    assert (await wait_status(runtime, running, within=5)).status is JobStatus.CANCELLED


async def test_foreign_job_ids_are_not_found(
    api: Api, runtime: Runtime, handler: EncodeHandler, worker: Worker
) -> None:
    owner = await api.new_user()
    tenant = await _tenant(owner)
    stranger = await api.new_user()
    second_profile = await owner.create_profile("Second brand")
    running = await enqueue(runtime, tenant, {"seconds": 30})
    queued = await enqueue(runtime, tenant, kind=IDLE_KIND)
    await asyncio.wait_for(handler.running_event(running).wait(), 10)
    failed = await enqueue(runtime, tenant, {"fail_attempts": 1}, max_attempts=1)
    await wait_status(runtime, failed)

    for job_id in (running, queued, failed, uuid.uuid4()):
        variables = {"id": str(job_id)}
        for query in (JOB, CANCEL, RETRY):
            assert (await stranger.gql(query, variables)).code == "NOT_FOUND"
            # The owner's other profile is another tenant too.
            other = await owner.gql(query, variables, profile_id=second_profile)
            assert other.code == "NOT_FOUND"
    statuses = [(await _job(owner, j))["status"] for j in (running, queued, failed)]
    assert statuses == ["RUNNING", "QUEUED", "FAILED"]
    (await owner.gql(CANCEL, {"id": str(running)})).ok()
    assert (await wait_status(runtime, running, within=5)).status is JobStatus.CANCELLED
