from __future__ import annotations

import strawberry

from editai.graphql.context import Info
from editai.graphql.ids import parse_id
from editai.jobs.service import job_target
from editai.jobs.types import Job


@strawberry.type
class JobMutation:
    @strawberry.mutation(description="Stops a queued or running job (FFmpeg within a second).")
    async def cancel_job(self, info: Info, id: strawberry.ID) -> Job:
        info.context.profile()
        job_id = parse_id(id, "Job")
        async with info.context.unit_of_work(job_target(job_id)) as session:
            job = await info.context.job_service(session).cancel(job_id)
        return Job.from_model(job)

    @strawberry.mutation(description="Queues a FAILED or CANCELLED job again.")
    async def retry_job(self, info: Info, id: strawberry.ID) -> Job:
        info.context.profile()
        job_id = parse_id(id, "Job")
        async with info.context.unit_of_work(job_target(job_id)) as session:
            job = await info.context.job_service(session).retry(job_id)
        return Job.from_model(job)
