from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from editai.graphql.context import Info
from editai.graphql.relay import Connection
from editai.jobs.models import Job as JobModel
from editai.jobs.models import JobKind as JobKindValue
from editai.jobs.models import JobStatus as JobStatusValue

if TYPE_CHECKING:
    from editai.projects.types import Project

strawberry.enum(JobStatusValue, name="JobStatus")
JobStatus = JobStatusValue
strawberry.enum(JobKindValue, name="JobKind")
JobKind = JobKindValue


@strawberry.type(description="Background work (FFmpeg and friends) and its progress.")
class Job:
    id: strawberry.ID
    kind: JobKind
    status: JobStatus
    progress: float = strawberry.field(description="0..1, from FFmpeg's -progress output.")
    attempts: int
    max_attempts: int
    error: str | None
    result: JSON | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    _model: strawberry.Private[JobModel]

    @classmethod
    def from_model(cls, m: JobModel) -> Job:
        return cls(
            id=strawberry.ID(str(m.id)),
            kind=JobKind(m.kind),
            status=JobStatus(m.status),
            progress=m.progress,
            attempts=m.attempts,
            max_attempts=m.max_attempts,
            error=m.error,
            result=JSON(m.result) if m.result is not None else None,
            created_at=m.created_at,
            started_at=m.started_at,
            finished_at=m.finished_at,
            _model=m,
        )

    @strawberry.field(description="The project it works on; null once the project is deleted.")
    async def project(
        self, info: Info
    ) -> Annotated[Project, strawberry.lazy("editai.projects.types")] | None:
        from editai.projects.types import Project

        if self._model.project_id is None:
            return None
        project = await info.context.loaders.project.load(self._model.project_id)
        return Project.from_model(project) if project is not None else None


@strawberry.type
class JobConnection(Connection[Job]):
    pass
