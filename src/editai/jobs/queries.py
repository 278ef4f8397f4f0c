from __future__ import annotations

import strawberry

from editai.graphql.context import Info
from editai.graphql.ids import parse_id
from editai.graphql.relay import build_connection
from editai.jobs.models import JobStatus as JobStatusValue
from editai.jobs.types import Job, JobConnection, JobStatus
from editai.pagination import PageRequest


@strawberry.type
class JobQuery:
    @strawberry.field
    async def job(self, info: Info, id: strawberry.ID) -> Job:
        info.context.profile()
        job_id = parse_id(id, "Job")
        async with info.context.db() as session:
            job = await info.context.job_service(session).get(job_id)
        return Job.from_model(job)

    @strawberry.field(description="Jobs of the current profile, newest first.")
    async def jobs(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        status: JobStatus | None = None,
    ) -> JobConnection:
        info.context.profile()
        page = PageRequest.parse(first, after, info.context.settings.max_page_size)
        async with info.context.db() as session:
            result = await info.context.job_service(session).list(
                page, JobStatusValue(status) if status else None
            )
        return build_connection(
            JobConnection,
            [Job.from_model(j) for j in result.items],
            has_next_page=result.has_next_page,
            has_previous_page=result.has_previous_page,
        )
