from __future__ import annotations

import strawberry

from editai.analysis.service import AnalysisService
from editai.analysis.types import Analyzer, AnalyzeVideoInput
from editai.graphql.context import Info
from editai.graphql.ids import parse_id
from editai.jobs.types import Job
from editai.projects.service import project_target


@strawberry.type
class AnalysisMutation:
    @strawberry.mutation(
        description="Starts a job that analyses the source video: LOCAL (default) measures "
        "scenes, speech and silence and transcribes the speech (Project.transcript); "
        "GEMINI stores highlight moments picked by Gemini."
    )
    async def analyze_video(
        self, info: Info, project_id: strawberry.ID, input: AnalyzeVideoInput | None = None
    ) -> Job:
        profile = info.context.profile()
        project = parse_id(project_id, "Project")
        analyzer = Analyzer((input or AnalyzeVideoInput()).analyzer)
        async with info.context.unit_of_work(project_target(project)) as session:
            service = AnalysisService(
                session, info.context.job_service(session), info.context.settings
            )
            job = await service.analyze(project, analyzer, profile.profile_id)
        return Job.from_model(job)
