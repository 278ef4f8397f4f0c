from __future__ import annotations

import strawberry

from editai.graphql.context import Info
from editai.graphql.ids import parse_id
from editai.jobs.types import Job
from editai.projects.service import project_target
from editai.segments.service import SegmentService


@strawberry.type
class SegmentMutation:
    @strawberry.mutation(description="Starts a job that finds scenes, speech and silence.")
    async def extract_segments(self, info: Info, project_id: strawberry.ID) -> Job:
        info.context.profile()
        project = parse_id(project_id, "Project")
        async with info.context.unit_of_work(project_target(project)) as session:
            job = await SegmentService(session, info.context.job_service(session)).extract(project)
        return Job.from_model(job)
