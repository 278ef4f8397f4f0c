"""All SQL about jobs as a tenant sees them (profile filter added by the tenant hook)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from editai.db.base import utcnow
from editai.jobs.models import Job, JobStatus
from editai.pagination import Page, PageRequest, newest_first_after

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, job: Job) -> None:
        self.session.add(job)

    async def get(self, job_id: uuid.UUID, *, for_update: bool = False) -> Job | None:
        stmt = select(Job).where(Job.id == job_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def list_for_profile(self, page: PageRequest, status: JobStatus | None) -> Page[Job]:
        stmt = select(Job).order_by(Job.created_at.desc(), Job.id.desc())
        if status is not None:
            stmt = stmt.where(Job.status == status)
        if page.after is not None:
            stmt = stmt.where(newest_first_after(Job.created_at, Job.id, page.after))
        rows = list((await self.session.scalars(stmt.limit(page.first + 1))).all())
        return Page(rows[: page.first], len(rows) > page.first, page.after is not None)

    async def active_for_project(
        self, project_id: uuid.UUID, kinds: Collection[str] | None = None
    ) -> Sequence[Job]:
        stmt = select(Job).where(Job.project_id == project_id, Job.status.in_(ACTIVE))
        if kinds is not None:
            stmt = stmt.where(Job.kind.in_(kinds))
        return (await self.session.scalars(stmt.with_for_update())).all()

    async def active_for_profile(self) -> Sequence[Job]:
        stmt = select(Job).where(Job.status.in_(ACTIVE))
        return (await self.session.scalars(stmt.with_for_update())).all()

    async def cancel_queued(self, job_ids: Sequence[uuid.UUID]) -> None:
        now = utcnow()
        await self.session.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.CANCELLED, finished_at=now, error="Cancelled", updated_at=now)
            .execution_options(synchronize_session="fetch")
        )

    async def request_cancel(self, job_ids: Sequence[uuid.UUID]) -> None:
        await self.session.execute(
            update(Job)
            .where(Job.id.in_(job_ids), Job.status == JobStatus.RUNNING)
            .values(cancel_requested=True, updated_at=utcnow())
            .execution_options(synchronize_session="fetch")
        )

    async def queued_by_kind(self) -> list[tuple[str, int, datetime | None]]:
        """(kind, how many, the oldest's created_at) of the queued jobs the session sees
        (a system session: every profile's; for /metrics)."""
        stmt = (
            select(Job.kind, func.count(), func.min(Job.created_at))
            .where(Job.status == JobStatus.QUEUED)
            .group_by(Job.kind)
            .order_by(Job.kind)
        )
        return [(str(k), int(n), first) for k, n, first in (await self.session.execute(stmt)).all()]
