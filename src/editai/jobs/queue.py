"""The ``jobs`` table as a queue: claim, heartbeat, finish, retry, recover.

Queue bookkeeping crosses profiles (a worker serves them all), so it runs in explicit
*system* sessions; the task itself runs in a session scoped to the job's profile.
Claims use ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one writer), in the
order jobs/claims.py picks: fair across profiles, with an optional per-profile cap.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from editai.db.base import utcnow
from editai.db.tenancy import SessionFactory
from editai.jobs.claims import pick_job
from editai.jobs.events import Channel, JobEvent, JobEventBus
from editai.jobs.models import Job, JobStatus
from editai.settings import ClaimOrder

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
# Fresh transactions a claim tries while other claims hold the profile locks it meets.
CONTENDED_CLAIM_TRIES = 20

# Runs inside an outcome's transaction, after ownership is confirmed (see JobQueue._finish).
BeforeCommit = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: uuid.UUID
    profile_id: uuid.UUID | None
    project_id: uuid.UUID | None
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


def backoff_seconds(base: float, attempts: int, cap: float = 300.0) -> float:
    """Exponential: base, 2·base, 4·base, … (attempts counts the failed tries so far)."""
    return float(min(cap, base * 2 ** max(attempts - 1, 0)))


class JobQueue:
    def __init__(
        self,
        sessions: SessionFactory,
        events: JobEventBus,
        *,
        claim_order: ClaimOrder = ClaimOrder.fair,
        max_running_per_profile: int | None = None,
    ) -> None:
        self.sessions = sessions
        self.events = events
        self.claim_order = claim_order
        self.max_running_per_profile = max_running_per_profile

    async def _publish(self, session: AsyncSession, channel: Channel, job_id: uuid.UUID) -> None:
        profile_id = await session.scalar(select(Job.profile_id).where(Job.id == job_id))
        await self.events.publish(session, JobEvent(channel, job_id, profile_id))

    async def claim(self, worker_id: str, kinds: set[str]) -> ClaimedJob | None:
        # A capped claim that met another claim's profile lock tries again in a new
        # transaction (whose first lock waits): the other claim takes milliseconds.
        for _ in range(CONTENDED_CLAIM_TRIES):
            claimed, contended = await self._claim_once(worker_id, kinds)
            if claimed is not None or not contended:
                return claimed
        return None

    async def _claim_once(self, worker_id: str, kinds: set[str]) -> tuple[ClaimedJob | None, bool]:
        now = utcnow()
        async with self.sessions.system_transaction() as session:
            pick = await pick_job(
                session, now, kinds, order=self.claim_order, cap=self.max_running_per_profile
            )
            if pick.job_id is None:
                return None, pick.contended
            job_id = pick.job_id
            # Stamped once the job is ours: the ranking may have waited for a lock (a
            # profile's, or SQLite's write lock) while another job finished.
            now = utcnow()
            row = (
                await session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
                    .values(
                        status=JobStatus.RUNNING,
                        attempts=Job.attempts + 1,
                        worker_id=worker_id,
                        heartbeat_at=now,
                        started_at=now,
                        finished_at=None,
                        progress=0.0,
                        updated_at=now,
                    )
                    .returning(
                        Job.id,
                        Job.profile_id,
                        Job.project_id,
                        Job.kind,
                        Job.payload,
                        Job.attempts,
                        Job.max_attempts,
                    )
                    .execution_options(synchronize_session=False)
                )
            ).first()
            if row is None:
                return None, False
            await self.events.publish(session, JobEvent(Channel.UPDATED, row.id, row.profile_id))
            claimed = ClaimedJob(
                row.id,
                row.profile_id,
                row.project_id,
                row.kind,
                dict(row.payload or {}),
                row.attempts,
                row.max_attempts,
            )
            return claimed, False

    async def heartbeat(self, job_id: uuid.UUID, worker_id: str) -> tuple[bool, bool]:
        """Returns (still ours, cancel requested)."""
        async with self.sessions.system_transaction() as session:
            row = (
                await session.execute(
                    update(Job)
                    .where(
                        Job.id == job_id,
                        Job.worker_id == worker_id,
                        Job.status == JobStatus.RUNNING,
                    )
                    .values(heartbeat_at=utcnow())
                    .returning(Job.cancel_requested)
                    .execution_options(synchronize_session=False)
                )
            ).first()
        return (row is not None, bool(row and row.cancel_requested))

    async def set_progress(self, job_id: uuid.UUID, worker_id: str, progress: float) -> None:
        async with self.sessions.system_transaction() as session:
            result = await session.execute(
                update(Job)
                .where(
                    Job.id == job_id, Job.worker_id == worker_id, Job.status == JobStatus.RUNNING
                )
                .values(progress=round(min(max(progress, 0.0), 1.0), 4), heartbeat_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0):
                await self._publish(session, Channel.UPDATED, job_id)

    async def _finish(
        self,
        session: AsyncSession,
        job_id: uuid.UUID,
        owner: str,
        before_commit: BeforeCommit | None = None,
        **values: Any,
    ) -> bool:
        """Update a RUNNING job still owned by ``owner`` (a requeued job is not ours).

        ``before_commit`` runs once ownership is confirmed (the row is locked) and before
        the outcome is visible: nobody can see the job finished, or claim it again, first.
        """
        result = await session.execute(
            update(Job)
            .where(Job.id == job_id, Job.worker_id == owner, Job.status == JobStatus.RUNNING)
            .values(updated_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            if before_commit is not None:
                await before_commit()
            await self._publish(session, Channel.UPDATED, job_id)
            return True
        return False

    async def succeed(
        self,
        job_id: uuid.UUID,
        worker_id: str,
        result: dict[str, Any],
        session: AsyncSession | None = None,
        *,
        before_commit: BeforeCommit | None = None,
    ) -> bool:
        """Mark done; pass the task's own session to commit results and status together."""
        values = {
            "status": JobStatus.SUCCEEDED,
            "progress": 1.0,
            "result": result,
            "error": None,
            "finished_at": utcnow(),
        }
        if session is not None:
            return await self._finish(session, job_id, worker_id, before_commit, **values)
        async with self.sessions.system_transaction() as own:
            return await self._finish(own, job_id, worker_id, before_commit, **values)

    async def fail(
        self,
        job_id: uuid.UUID,
        worker_id: str,
        error: str,
        *,
        retry: bool,
        base_seconds: float,
        before_commit: BeforeCommit | None = None,
    ) -> JobStatus | None:
        """QUEUED again after a backoff, or FAILED; None if the job is no longer ours."""
        async with self.sessions.system_transaction() as session:
            job = await session.get(Job, job_id, with_for_update=True)
            if job is None or job.worker_id != worker_id or job.status != JobStatus.RUNNING:
                return None
            if retry and job.attempts < job.max_attempts and not job.cancel_requested:
                delay = backoff_seconds(base_seconds, job.attempts)
                await self._finish(
                    session,
                    job_id,
                    worker_id,
                    before_commit,
                    status=JobStatus.QUEUED,
                    error=error,
                    worker_id=None,
                    run_after=utcnow() + timedelta(seconds=delay),
                )
                return JobStatus.QUEUED
            await self._finish(
                session,
                job_id,
                worker_id,
                before_commit,
                status=JobStatus.FAILED,
                error=error,
                finished_at=utcnow(),
            )
            return JobStatus.FAILED

    async def release(
        self, job_id: uuid.UUID, worker_id: str, *, before_commit: BeforeCommit | None = None
    ) -> bool:
        """Hand a job back (its worker is shutting down): QUEUED now, the attempt not counted.

        Being stopped is not the task's failure: a deploy must not fail a job on its last
        attempt, nor eat one of its retries. Returns False if the job is no longer ours.
        """
        async with self.sessions.system_transaction() as session:
            job = await session.get(Job, job_id, with_for_update=True)
            if job is None or job.worker_id != worker_id or job.status != JobStatus.RUNNING:
                return False
            if job.cancel_requested:
                return await self._finish(
                    session,
                    job_id,
                    worker_id,
                    before_commit,
                    status=JobStatus.CANCELLED,
                    error="Cancelled",
                    finished_at=utcnow(),
                )
            await self._finish(
                session,
                job_id,
                worker_id,
                before_commit,
                status=JobStatus.QUEUED,
                attempts=max(job.attempts - 1, 0),
                worker_id=None,
                progress=0.0,
                run_after=utcnow(),
            )
            await self._publish(session, Channel.QUEUED, job_id)  # wake another worker
            return True

    async def mark_cancelled(
        self, job_id: uuid.UUID, worker_id: str, *, before_commit: BeforeCommit | None = None
    ) -> bool:
        async with self.sessions.system_transaction() as session:
            return await self._finish(
                session,
                job_id,
                worker_id,
                before_commit,
                status=JobStatus.CANCELLED,
                error="Cancelled",
                finished_at=utcnow(),
            )

    async def requeue_stale(self, stale_after_seconds: float) -> list[uuid.UUID]:
        """Jobs whose worker stopped heart-beating (killed, machine lost) run again."""
        cutoff: datetime = utcnow() - timedelta(seconds=stale_after_seconds)
        now = utcnow()
        async with self.sessions.system_transaction() as session:
            stale = (
                await session.execute(
                    select(Job.id, Job.attempts, Job.max_attempts, Job.cancel_requested)
                    .where(Job.status == JobStatus.RUNNING, Job.heartbeat_at < cutoff)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row in stale:
                values: dict[str, Any]
                if row.cancel_requested:
                    values = {"status": JobStatus.CANCELLED, "finished_at": now}
                elif row.attempts >= row.max_attempts:
                    values = {
                        "status": JobStatus.FAILED,
                        "error": "The worker running this job stopped responding",
                        "finished_at": now,
                    }
                else:
                    values = {"status": JobStatus.QUEUED, "run_after": now}
                await session.execute(
                    update(Job)
                    .where(Job.id == row.id, Job.status == JobStatus.RUNNING)
                    .values(worker_id=None, updated_at=now, **values)
                    .execution_options(synchronize_session=False)
                )
                await self._publish(session, Channel.UPDATED, row.id)
                if values["status"] == JobStatus.QUEUED:
                    await self._publish(session, Channel.QUEUED, row.id)
            return [row.id for row in stale]

    async def next_run_after(self) -> datetime | None:
        async with self.sessions.system_transaction() as session:
            value: datetime | None = await session.scalar(
                select(func.min(Job.run_after)).where(Job.status == JobStatus.QUEUED)
            )
            return value

    async def running_among(self, job_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``job_ids`` some worker is running now."""
        async with self.sessions.system_transaction() as session:
            rows = await session.scalars(
                select(Job.id).where(Job.status == JobStatus.RUNNING, Job.id.in_(list(job_ids)))
            )
            return set(rows.all())
