from __future__ import annotations

import strawberry

from editai.graphql.context import Info
from editai.graphql.ids import parse_id
from editai.jobs.types import Job
from editai.projects.service import project_target
from editai.transcripts.service import TranscriptService
from editai.transcripts.types import TranscribeVideoInput


@strawberry.type
class TranscriptMutation:
    @strawberry.mutation(
        description="Starts a job that transcribes the source video's speech offline "
        "(faster-whisper, Whisper base int8): Project.transcript once it succeeds. Free."
    )
    async def transcribe_video(
        self, info: Info, project_id: strawberry.ID, input: TranscribeVideoInput | None = None
    ) -> Job:
        info.context.profile()
        project = parse_id(project_id, "Project")
        language = (input or TranscribeVideoInput()).language
        async with info.context.unit_of_work(project_target(project)) as session:
            service = TranscriptService(session, info.context.job_service(session))
            job = await service.transcribe(project, language)
        return Job.from_model(job)
