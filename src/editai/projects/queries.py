"""Project queries: parse, call the service, map the result."""

from __future__ import annotations

import strawberry

from editai.graphql.context import Info
from editai.graphql.ids import parse_id
from editai.graphql.relay import build_connection
from editai.pagination import PageRequest
from editai.projects.models import ProjectStatus as ProjectStatusValue
from editai.projects.prefetch import prefetch_project_fields
from editai.projects.service import ProjectService
from editai.projects.types import Project, ProjectConnection, ProjectStatus


@strawberry.type
class ProjectQuery:
    @strawberry.field(description="Projects of the current profile, newest first.")
    async def projects(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: ProjectStatus | None = None,
    ) -> ProjectConnection:
        info.context.profile()
        page = PageRequest.parse(first, after, info.context.settings.max_page_size)
        async with info.context.db() as session:
            result = await ProjectService(session).list(
                page, ProjectStatusValue(status) if status else None
            )
        await prefetch_project_fields(info, [p.id for p in result.items])
        return build_connection(
            ProjectConnection,
            [Project.from_model(p) for p in result.items],
            has_next_page=result.has_next_page,
            has_previous_page=result.has_previous_page,
        )

    @strawberry.field
    async def project(self, info: Info, id: strawberry.ID) -> Project:
        info.context.profile()
        project_id = parse_id(id, "Project")
        async with info.context.db() as session:
            project = await ProjectService(session).get(project_id)
        return Project.from_model(project)
