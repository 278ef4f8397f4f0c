"""A worker loses its database connections (restart, failover): its jobs survive.

Every backend of the test's own database is killed exactly when the worker sends one of
its queue statements (claim, heartbeat, progress, the finishing write): the statement is
in flight on a connection that was alive at checkout. The job must still succeed, once
(retried, not lost, not re-run), the worker keeps claiming, and nothing is logged as an
ERROR: a lost connection is weather, logged as a WARNING with its retry.

Then the job event bus's LISTEN connection alone is killed: it reconnects at once, and
what was published while it was gone still wakes the worker and reaches subscribers.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from editai.jobs.events import (
    LISTEN_APPLICATION_NAME,
    Channel,
    JobEvent,
    PostgresJobEventBus,
)
from editai.jobs.models import Job, JobStatus
from editai.runtime import Runtime
from tests.jobs.conftest import FINISHED, Tenant, enqueue, load_job, running_worker
from tests.jobs.handlers import EncodeHandler
from tests.pg_backends import backend_pids, backends_killed_before, terminate_backends
from tests.test_logging import JsonLines, json_logs  # noqa: F401 - the capture fixture

pytestmark = pytest.mark.parametrize("backend", ["postgres"])

LISTEN_APPLICATION = LISTEN_APPLICATION_NAME


def _params(parameters: Any) -> tuple[Any, ...]:
    return tuple(parameters.values()) if isinstance(parameters, dict) else tuple(parameters or ())


# The worker's statements, as sent (see JobQueue): what a kill lands on.
STATEMENTS = {
    "claim": lambda sql, _p: (
        sql.startswith("UPDATE jobs SET status=") and "attempts=(jobs.attempts" in sql
    ),
    "heartbeat": lambda sql, _p: (
        sql.startswith("UPDATE jobs SET heartbeat_at=") and "RETURNING jobs.cancel_requested" in sql
    ),
    "progress": lambda sql, _p: sql.startswith("UPDATE jobs SET progress="),
    "finish": lambda sql, p: (
        sql.startswith("UPDATE jobs SET status=") and "SUCCEEDED" in _params(p)
    ),
}


async def wait_job(
    runtime: Runtime,
    job_id: uuid.UUID,
    statuses: tuple[JobStatus, ...] = FINISHED,
    within: float = 15.0,
) -> Job:
    """``wait_status``, but a look of its own that a kill lands on is simply taken again:
    the test's polling shares the database (and the engine) whose backends are killed."""
    deadline = time.monotonic() + within
    while True:
        try:
            job = await load_job(runtime, job_id)
        except DBAPIError as exc:
            # Only the kill's doing: a lost connection, or a connection the kill left
            # mid-protocol, which asyncpg reports as "another operation (2) is in
            # progress" until it notices the hang-up. Anything else fails the test.
            if "connection" not in str(exc) and "is in progress" not in str(exc):
                raise
        else:
            if job.status in statuses:
                return job
        assert time.monotonic() < deadline, f"job {job_id} did not reach {statuses}"
        await asyncio.sleep(0.05)


def problems(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("level") in {"error", "critical", "exception"}]


@pytest.mark.parametrize("statement", list(STATEMENTS))
async def test_a_job_survives_its_worker_losing_the_database(
    runtime: Runtime,
    tenant: Tenant,
    pg_url: str,
    statement: str,
    json_logs: JsonLines,  # noqa: F811
) -> None:
    handler = EncodeHandler()
    # Queued before the worker starts: its very first claim is the one that takes it.
    job_id = await enqueue(runtime, tenant, {"seconds": 1.0})
    json_logs.clear()
    started = time.monotonic()
    with backends_killed_before(runtime.engine, pg_url, STATEMENTS[statement]) as fired:
        async with running_worker(runtime, handler):
            job = await wait_job(runtime, job_id, within=15)
            took = time.monotonic() - started
            assert fired, f"the worker never sent its {statement} statement"
            # And it keeps claiming: a job queued afterwards runs too.
            later = await enqueue(runtime, tenant, {"seconds": 0.2})
            assert (await wait_job(runtime, later, within=10)).status is JobStatus.SUCCEEDED

    assert job.status is JobStatus.SUCCEEDED, job.error
    # Retried, not re-run: one attempt, one run of the task, and no wait for staleness
    # (2 s here), which is how a job whose finishing write was lost would come back.
    assert job.attempts == 1
    assert [run.outcome for run in handler.runs if run.job_id == str(job_id)] == ["succeeded"]
    assert took < runtime.settings.job_stale_after_seconds + 1.0
    lines = json_logs.server_lines()
    assert not problems(lines), problems(lines)
    retried = [line for line in lines if line["event"] == "database connection lost, retrying"]
    assert retried
    assert all(line["level"] == "warning" for line in retried), retried


async def test_a_job_runs_through_database_restarts_while_it_encodes(
    runtime: Runtime,
    tenant: Tenant,
    pg_url: str,
    json_logs: JsonLines,  # noqa: F811
) -> None:
    """Every connection of the app killed twice while FFmpeg runs (the pool's idle ones,
    the LISTEN one): the next heartbeat and progress writes find fresh connections."""
    job_id = await enqueue(runtime, tenant, {"seconds": 1.5})
    json_logs.clear()
    handler = EncodeHandler()
    async with running_worker(runtime, handler):
        await asyncio.wait_for(handler.running_event(job_id).wait(), 10)
        for _ in range(2):
            assert await terminate_backends(pg_url)
            await asyncio.sleep(0.4)  # a heartbeat (0.3 s) and progress writes in between
        job = await wait_job(runtime, job_id, within=15)
    assert job.status is JobStatus.SUCCEEDED, job.error
    assert job.attempts == 1
    assert job.progress == 1.0
    lines = json_logs.server_lines()
    assert not problems(lines), problems(lines)


async def _listen_backend(pg_url: str, within: float = 5.0) -> int:
    """The pid of the bus's LISTEN connection, once there is one."""
    deadline = time.monotonic() + within
    while True:
        pids = await backend_pids(pg_url, application_name=LISTEN_APPLICATION)
        if len(pids) == 1:
            return pids.pop()
        assert time.monotonic() < deadline, f"LISTEN connections: {pids}"
        await asyncio.sleep(0.05)


async def test_the_listen_connection_reconnects_and_still_wakes_the_worker(
    runtime: Runtime,
    tenant: Tenant,
    pg_url: str,
    json_logs: JsonLines,  # noqa: F811
) -> None:
    # Polling is off in effect: only a NOTIFY (or the bus's catch-up) can wake the worker.
    runtime.settings.worker_poll_seconds = 60.0
    runtime.settings.job_stale_after_seconds = 120.0
    json_logs.clear()
    async with running_worker(runtime):
        await asyncio.sleep(0.3)  # its first claim round (nothing queued) is over
        first = await _listen_backend(pg_url)
        for round_ in range(2):
            killed = await terminate_backends(pg_url, application_name=LISTEN_APPLICATION)
            assert len(killed) == 1
            # Queued while the bus has no connection: its NOTIFY reaches nobody.
            queued_at = time.monotonic()
            job_id = await enqueue(runtime, tenant, {"seconds": 0.1})
            job = await wait_job(runtime, job_id, (JobStatus.RUNNING, JobStatus.SUCCEEDED), 3)
            picked_up = time.monotonic() - queued_at
            assert job.status in (JobStatus.RUNNING, JobStatus.SUCCEEDED)
            assert picked_up < 2.0, f"round {round_}: picked up after {picked_up:.2f} s"
            assert (await wait_job(runtime, job_id)).status is JobStatus.SUCCEEDED
            # Reconnected: a job queued now is woken by its own NOTIFY.
            assert await _listen_backend(pg_url) not in (first, *killed)
            queued_at = time.monotonic()
            again = await enqueue(runtime, tenant, {"seconds": 0.1})
            await wait_job(runtime, again, (JobStatus.RUNNING, JobStatus.SUCCEEDED), 3)
            assert time.monotonic() - queued_at < 1.0
    lines = json_logs.server_lines()
    assert not problems(lines), problems(lines)
    assert any(line["event"] == "job event listener reconnected" for line in lines)


async def test_job_updates_still_reach_subscribers_after_the_listen_connection_is_killed(
    runtime: Runtime, tenant: Tenant, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What jobUpdated subscriptions (and the worker's wake-ups) consume: the events.

    The first time, the database takes a moment to accept the new LISTEN connection and
    the job is queued meanwhile: its NOTIFY reached nobody, only the bus's catch-up from
    the jobs table can deliver it. The second time, the reconnect is as quick as it gets.
    """
    bus = runtime.events
    assert isinstance(bus, PostgresJobEventBus)
    connect = bus._connect
    database_back = asyncio.Event()

    async def slow_connect() -> None:
        await database_back.wait()
        await connect()

    async with bus.subscribe() as inbox:
        first = await _listen_backend(pg_url)
        for held in (True, False):
            if held:
                monkeypatch.setattr(bus, "_connect", slow_connect)
            assert await terminate_backends(pg_url, application_name=LISTEN_APPLICATION)
            job_id = await enqueue(runtime, tenant, {"seconds": 0.1})
            if held:
                assert not await backend_pids(pg_url, application_name=LISTEN_APPLICATION)
                database_back.set()
            seen: set[Channel] = set()

            async def arrived(job_id: Any = job_id, seen: set[Channel] = seen) -> None:
                while seen != {Channel.UPDATED, Channel.QUEUED}:
                    event: JobEvent = await inbox.get()
                    if event.job_id == job_id:
                        seen.add(event.channel)

            await asyncio.wait_for(arrived(), 2.0)
            assert (await load_job(runtime, job_id)).status is JobStatus.QUEUED
            assert await _listen_backend(pg_url) != first
