"""The worker: claims jobs, runs their tasks, heartbeats, cancels, retries, recovers.

Runs inside the server process by default (embedded mode) and as ``editai worker``
processes to scale out; any number of them share one PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from editai.db.connection_health import is_connection_lost, retry_on_connection_loss
from editai.integrations.errors import ProviderError
from editai.jobs.events import Channel, JobEvent
from editai.jobs.failures import log_failure, readable
from editai.jobs.models import JobStatus
from editai.jobs.queue import BeforeCommit, ClaimedJob
from editai.jobs.registry import JobContext, JobFailedError, TaskHandler, handlers
from editai.jobs.temp_dirs import fresh_dir, remove_job_dir, sweep_dead_job_dirs
from editai.logging import bound_context, get_logger
from editai.metrics import observe_job
from editai.runtime import Runtime

log = get_logger(__name__)

T = TypeVar("T")

# How long queue bookkeeping retries a lost database connection (a restart, a failover)
# before it gives up. A claim or a sweep is tried again on the next round anyway; a
# progress write is worth little once stale. A job's outcome is worth the longest wait:
# given up, the job stays RUNNING until its heartbeat is stale, and then runs again.
CLAIM_RETRY_SECONDS = 5.0
PROGRESS_RETRY_SECONDS = 2.0
OUTCOME_RETRY_SECONDS = 60.0


class Worker:
    def __init__(
        self,
        runtime: Runtime,
        *,
        concurrency: int | None = None,
        task_handlers: dict[str, TaskHandler] | None = None,
    ) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.queue = runtime.queue
        self.concurrency = concurrency or self.settings.worker_concurrency
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Injectable so engine tests can run their own FFmpeg workloads under real kinds.
        self.handlers: dict[str, TaskHandler] = (
            task_handlers if task_handlers is not None else handlers()
        )
        self._running: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._cancel_requested: set[uuid.UUID] = set()
        self._wake = asyncio.Event()
        self._main: asyncio.Task[None] | None = None

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        await self.sweep_temp_dirs()
        self._main = asyncio.create_task(self._run(), name="editai-worker")

    async def stop(self) -> None:
        if self._main is not None:
            self._main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._main
            self._main = None

    async def run_forever(self) -> None:
        await self.start()
        assert self._main is not None
        await self._main

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        log.info("worker started", worker_id=self.worker_id, concurrency=self.concurrency)
        async with self.runtime.events.subscribe() as inbox:
            listener = asyncio.create_task(self._listen(inbox))
            try:
                await self._loop()
            finally:
                listener.cancel()
                await self._release_running()

    async def _listen(self, inbox: asyncio.Queue[JobEvent]) -> None:
        while True:
            event = await inbox.get()
            if event.channel is Channel.QUEUED:
                self._wake.set()
            elif event.channel is Channel.CANCEL:
                self._cancel(event.job_id)

    async def _loop(self) -> None:
        last_sweep = 0.0
        while True:
            if time.monotonic() - last_sweep > self.settings.job_stale_after_seconds / 2:
                last_sweep = time.monotonic()
                try:
                    requeued = await self._retrying(
                        "stale job sweep",
                        lambda: self.queue.requeue_stale(self.settings.job_stale_after_seconds),
                        within=CLAIM_RETRY_SECONDS,
                    )
                    if requeued:
                        log.warning("stale jobs recovered", job_ids=[str(j) for j in requeued])
                except Exception as exc:
                    log_failure("stale job sweep failed", exc)
            kinds = set(self.handlers)
            while len(self._running) < self.concurrency:
                try:
                    # A claim whose commit was lost with its connection may have taken a
                    # job this worker never hears of: it runs again once stale.
                    job = await self._retrying(
                        "job claim",
                        functools.partial(self.queue.claim, self.worker_id, kinds),
                        within=CLAIM_RETRY_SECONDS,
                    )
                except Exception as exc:
                    log_failure("job claim failed", exc)
                    job = None
                if job is None:
                    break
                self._running[job.id] = asyncio.create_task(
                    self._execute(job), name=f"editai-job-{job.id}"
                )
            self._wake.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancel that
            # arrives in the tick the event is set (a job finishing as stop() is called),
            # and the loop would poll on forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.worker_poll_seconds):
                    await self._wake.wait()

    async def _release_running(self) -> None:
        """Shutting down: stop our jobs and hand them back to the queue at once."""
        tasks = list(self._running.values())
        for running in tasks:
            running.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _cancel(self, job_id: uuid.UUID) -> None:
        running = self._running.get(job_id)
        if running is not None and job_id not in self._cancel_requested:
            log.info("cancelling job", job_id=str(job_id))
            self._cancel_requested.add(job_id)
            running.cancel()

    # --- one job ---------------------------------------------------------------------------
    async def _execute(self, job: ClaimedJob) -> None:
        with bound_context(job_id=str(job.id), profile_id=str(job.profile_id or "")):
            temp_dir = self.runtime.storage.job_temp_dir(job.project_id, job.id)
            heartbeat = asyncio.create_task(self._heartbeat(job))

            # Removing the temp dir is part of writing the outcome: it runs once the job is
            # confirmed ours and before anyone can see it finished or claim it again. A job
            # taken over (we looked dead) leaves the dir alone: it is the new owner's now.
            def clear_temp() -> Awaitable[None]:
                return asyncio.to_thread(remove_job_dir, temp_dir)

            started, outcome = time.monotonic(), "handed_back"
            try:
                stray = await asyncio.to_thread(fresh_dir, temp_dir)
                if stray:
                    log.warning("killed processes of an earlier attempt", pids=stray)
                context = JobContext(job, self.runtime, temp_dir, self._progress_reporter(job))
                log.info("job started", kind=job.kind, attempt=job.attempts)
                result = await self.handlers[job.kind](context)
            except asyncio.CancelledError:
                if job.id in self._cancel_requested:
                    owned = await self._outcome(
                        lambda: self.queue.mark_cancelled(
                            job.id, self.worker_id, before_commit=clear_temp
                        )
                    )
                    log.info("job cancelled" if owned else "job taken over by another worker")
                    outcome = "cancelled" if owned else "taken_over"
                else:  # the worker is stopping: someone else will run it
                    await self._hand_back(job, clear_temp)
                    raise
            except JobFailedError as exc:
                log.info("job failed", error=str(exc))
                outcome = "failed"
                await self._outcome(
                    functools.partial(
                        self.queue.fail,
                        job.id,
                        self.worker_id,
                        str(exc),
                        retry=False,
                        base_seconds=0,
                        before_commit=clear_temp,
                    )
                )
            except Exception as exc:
                if is_connection_lost(exc):
                    # The task's own session lost the database: not a bug, and the attempt
                    # is retried like any other failure (its writes were rolled back).
                    log.warning(
                        "job interrupted: database connection lost",
                        kind=job.kind,
                        attempt=job.attempts,
                        error=f"{type(exc).__name__}: {exc}",
                    )
                else:
                    log.exception("job error", kind=job.kind, attempt=job.attempts)
                status = await self._outcome(
                    functools.partial(
                        self.queue.fail,
                        job.id,
                        self.worker_id,
                        readable(exc),
                        retry=not (isinstance(exc, ProviderError) and not exc.retryable),
                        base_seconds=self.settings.job_retry_base_seconds,
                        before_commit=clear_temp,
                    )
                )
                log.info("job will retry" if status is JobStatus.QUEUED else "job failed")
                outcome = "retried" if status is JobStatus.QUEUED else "failed"
            else:
                # Retried: a try whose commit was lost may have committed, and the next
                # then finds the job no longer RUNNING (reported as not ours).
                owned = await self._outcome(
                    lambda: self.queue.succeed(
                        job.id, self.worker_id, result, before_commit=clear_temp
                    )
                )
                log.info("job succeeded" if owned else "job taken over by another worker")
                outcome = "succeeded" if owned else "taken_over"
            finally:
                observe_job(job.kind, outcome, time.monotonic() - started)
                heartbeat.cancel()
                self._running.pop(job.id, None)
                self._cancel_requested.discard(job.id)
                self._wake.set()

    async def _retrying(
        self, what: str, operation: Callable[[], Awaitable[T]], *, within: float
    ) -> T:
        """Queue bookkeeping (each call its own transaction, safe to repeat), run again on
        a fresh connection while the database connection is lost, for ``within`` s."""
        return await retry_on_connection_loss(operation, what=what, within=within)

    async def _outcome(self, operation: Callable[[], Awaitable[T]]) -> T | None:
        """Write a job's outcome, retried through a database restart.

        None when the database stayed away: the job stays RUNNING, its heartbeat goes
        stale, and it runs again (at least once, never lost).
        """
        try:
            return await self._retrying("job outcome", operation, within=OUTCOME_RETRY_SECONDS)
        except Exception as exc:
            if not is_connection_lost(exc):
                raise
            log.warning(
                "could not record the job's outcome: database unreachable "
                "(the job runs again once stale)",
                error=f"{type(exc).__name__}: {exc}",
            )
            return None

    async def _hand_back(self, job: ClaimedJob, before_commit: BeforeCommit) -> None:
        try:
            # Shutting down: a short wait, not a failover's.
            await self._retrying(
                "job hand-back",
                lambda: self.queue.release(job.id, self.worker_id, before_commit=before_commit),
                within=CLAIM_RETRY_SECONDS,
            )
        except Exception as exc:
            log_failure("could not hand the job back (it is re-queued once stale)", exc)

    async def _heartbeat(self, job: ClaimedJob) -> None:
        while True:
            await asyncio.sleep(self.settings.job_heartbeat_seconds)
            try:
                # Until the next beat is due: missing one is harmless, staleness is far.
                ours, cancel = await self._retrying(
                    "heartbeat",
                    lambda: self.queue.heartbeat(job.id, self.worker_id),
                    within=self.settings.job_heartbeat_seconds,
                )
            except Exception as exc:
                log_failure("heartbeat failed", exc)
                continue
            if cancel or not ours:
                # Cancelled by a user (or taken over after we looked dead): stop now.
                self._cancel(job.id)
                return

    def _progress_reporter(self, job: ClaimedJob) -> Callable[[float], Awaitable[None]]:
        last = {"value": -1.0, "at": 0.0}

        async def report(value: float) -> None:
            now = time.monotonic()
            if value < 1.0 and (value - last["value"] < 0.01 or now - last["at"] < 0.25):
                return
            last.update(value=value, at=now)
            try:
                await self._retrying(
                    "progress",
                    lambda: self.queue.set_progress(job.id, self.worker_id, value),
                    within=PROGRESS_RETRY_SECONDS,
                )
            except Exception as exc:
                # A progress figure is not worth failing the task over; the next one,
                # or the outcome, brings the job up to date.
                if not is_connection_lost(exc):
                    raise
                log.warning("progress not recorded: database connection lost", progress=value)

        return report

    async def sweep_temp_dirs(self) -> None:
        """Start-up: remove temp dirs of jobs no worker is running any more."""
        await sweep_dead_job_dirs(self.runtime.storage.temp_root, self.queue)
