"""Project rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from editai.db.targets import Target
from editai.errors import BadUserInput, NotFound
from editai.jobs.service import JobService
from editai.pagination import Page, PageRequest
from editai.projects.models import Project, ProjectStatus
from editai.projects.repository import ProjectRepository
from editai.validation import UNSET, clean_description, clean_name

NAME_MAX = 200
DESCRIPTION_MAX = 5000
PROJECT_NOT_FOUND = "Project not found"


@dataclass
class ProjectChanges:
    name: Any = UNSET
    description: Any = UNSET
    status: Any = UNSET


def project_target(project_id: uuid.UUID) -> Target:
    """The project a write names (checked before the write: db/targets.py)."""
    return Target.of(Project, project_id, PROJECT_NOT_FOUND)


class ProjectService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ProjectRepository(session)

    async def get(self, project_id: uuid.UUID) -> Project:
        project = await self.repo.get(project_id)
        if project is None:
            raise NotFound(PROJECT_NOT_FOUND)
        return project

    async def list(self, page: PageRequest, status: ProjectStatus | None) -> Page[Any]:
        return await self.repo.list_for_profile(page, status)

    async def create(self, changes: ProjectChanges) -> Project:
        description = None if changes.description is UNSET else changes.description
        project = Project(
            name=clean_name(changes.name, what="Project", max_length=NAME_MAX),
            description=clean_description(description, max_length=DESCRIPTION_MAX),
            status=ProjectStatus.ACTIVE,
        )
        self.repo.add(project)
        await self.session.flush()
        return project

    async def update(self, project_id: uuid.UUID, changes: ProjectChanges) -> Project:
        project = await self.get(project_id)
        if changes.name is not UNSET:
            project.name = clean_name(changes.name, what="Project", max_length=NAME_MAX)
        if changes.description is not UNSET:
            project.description = clean_description(changes.description, max_length=DESCRIPTION_MAX)
        if changes.status is not UNSET:
            if changes.status is None:
                raise BadUserInput("status cannot be null", field="status")
            project.status = ProjectStatus(changes.status)
        await self.session.flush()
        return project

    async def delete(self, project_id: uuid.UUID, jobs: JobService | None = None) -> uuid.UUID:
        """Delete the project; its queued and running jobs are cancelled first."""
        project = await self.get(project_id)
        if jobs is not None:
            await jobs.cancel_active(project_id)
        self.session.expunge(project)
        await self.repo.delete(project_id)
        return project_id
