"""Segment extraction: validated, then done by a background job."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from editai.clips.service import require_source
from editai.jobs.models import Job, JobKind
from editai.jobs.service import JobService
from editai.projects.service import ProjectService


class SegmentService:
    def __init__(self, session: AsyncSession, jobs: JobService) -> None:
        self.projects = ProjectService(session)
        self.jobs = jobs

    async def extract(self, project_id: uuid.UUID) -> Job:
        project = await self.projects.get(project_id)
        require_source(project)
        return await self.jobs.enqueue(JobKind.EXTRACT_SEGMENTS, project.id, {})
