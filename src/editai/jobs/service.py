"""Job rules as users see them: enqueue with the work's rows, cancel, retry."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from editai.db.base import utcnow
from editai.db.targets import Target
from editai.db.tenancy import SessionFactory
from editai.errors import Conflict, NotFound
from editai.jobs.events import Channel, JobEvent, JobEventBus
from editai.jobs.models import Job, JobKind, JobStatus
from editai.jobs.repository import JobRepository
from editai.pagination import Page, PageRequest
from editai.quotas.service import StorageQuota

JOB_NOT_FOUND = "Job not found"


def job_target(job_id: uuid.UUID) -> Target:
    """The job a write names (checked before the write: db/targets.py)."""
    return Target.of(Job, job_id, JOB_NOT_FOUND)


class JobService:
    def __init__(
        self,
        session: AsyncSession,
        events: JobEventBus,
        max_attempts: int = 3,
        storage_quota_bytes: int | None = None,
    ) -> None:
        self.session = session
        self.repo = JobRepository(session)
        self.events = events
        self.max_attempts = max_attempts
        self.quota = StorageQuota(session, storage_quota_bytes)

    async def get(self, job_id: uuid.UUID) -> Job:
        job = await self.repo.get(job_id)
        if job is None:
            raise NotFound(JOB_NOT_FOUND)
        return job

    async def list(self, page: PageRequest, status: JobStatus | None) -> Page[Job]:
        return await self.repo.list_for_profile(page, status)

    async def enqueue(
        self, kind: JobKind, project_id: uuid.UUID | None, payload: dict[str, Any]
    ) -> Job:
        """Written in the caller's transaction: the job exists iff the work's rows do."""
        await self.quota.check_job(kind)
        job = Job(
            kind=kind.value,
            project_id=project_id,
            payload=payload,
            status=JobStatus.QUEUED,
            max_attempts=self.max_attempts,
            run_after=utcnow(),
        )
        self.repo.add(job)
        await self.session.flush()
        await self._notify(job, Channel.QUEUED)
        await self._notify(job, Channel.UPDATED)
        return job

    async def cancel(self, job_id: uuid.UUID) -> Job:
        job = await self.repo.get(job_id, for_update=True)
        if job is None:
            raise NotFound(JOB_NOT_FOUND)
        if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
            raise Conflict(f"The job has already finished ({job.status.value})")
        await self._cancel([job])
        await self.session.refresh(job)
        return job

    async def cancel_active(self, project_id: uuid.UUID | None = None) -> int:
        """Cancel the profile's (or one project's) queued and running jobs."""
        jobs = (
            await self.repo.active_for_project(project_id)
            if project_id is not None
            else await self.repo.active_for_profile()
        )
        await self._cancel(jobs)
        return len(jobs)

    async def cancel_active_where(
        self, project_id: uuid.UUID, kinds: Collection[JobKind], applies: Callable[[Job], bool]
    ) -> int:
        """Cancel the project's queued and running jobs of ``kinds`` that ``applies`` to
        (what a job works on is in its payload, which only its domain reads)."""
        candidates = await self.repo.active_for_project(project_id, [k.value for k in kinds])
        jobs = [job for job in candidates if applies(job)]
        await self._cancel(jobs)
        return len(jobs)

    async def _cancel(self, jobs: Sequence[Job]) -> None:
        queued = [j.id for j in jobs if j.status == JobStatus.QUEUED]
        running = [j for j in jobs if j.status == JobStatus.RUNNING]
        if queued:
            await self.repo.cancel_queued(queued)
        if running:
            await self.repo.request_cancel([j.id for j in running])
        for job in jobs:
            await self._notify(job, Channel.UPDATED)
        for job in running:
            # The worker running it kills its FFmpeg on this (the heartbeat is the fallback).
            await self._notify(job, Channel.CANCEL)

    async def retry(self, job_id: uuid.UUID) -> Job:
        job = await self.repo.get(job_id, for_update=True)
        if job is None:
            raise NotFound(JOB_NOT_FOUND)
        if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise Conflict("Only a FAILED or CANCELLED job can be retried")
        await self.quota.check_job(job.kind)
        job.status = JobStatus.QUEUED
        job.attempts = 0
        job.error = None
        job.progress = 0.0
        job.cancel_requested = False
        job.worker_id = None
        job.started_at = None
        job.finished_at = None
        job.run_after = utcnow()
        await self.session.flush()
        await self._notify(job, Channel.QUEUED)
        await self._notify(job, Channel.UPDATED)
        return job

    async def _notify(self, job: Job, channel: Channel) -> None:
        await self.events.publish(self.session, JobEvent(channel, job.id, job.profile_id))


async def cancel_jobs_of_profile(
    sessions: SessionFactory, events: JobEventBus, profile_id: uuid.UUID, user_id: uuid.UUID
) -> int:
    """Cancel another profile's active jobs, in a transaction scoped to that profile."""
    async with sessions.tenant_transaction(profile_id, user_id) as session:
        return await JobService(session, events).cancel_active()
