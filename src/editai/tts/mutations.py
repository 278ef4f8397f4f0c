from __future__ import annotations

import strawberry

from editai.graphql.context import Info
from editai.graphql.ids import parse_id
from editai.jobs.types import Job
from editai.projects.service import project_target
from editai.tts.providers import TtsProviderName
from editai.tts.service import VoiceoverService, voiceover_target
from editai.tts.types import SynthesizeVoiceoverInput


@strawberry.type
class TtsMutation:
    @strawberry.mutation(
        description="Starts a job that speaks `text` (1 to the server's maximum characters) "
        "and stores it as a voice-over of the project; the job's result holds its "
        "voiceover_id. Provider and voice: the input's, else the profile's ttsProvider/"
        "ttsVoiceId, else the server's defaults (LOCAL: offline eSpeak NG)."
    )
    async def synthesize_voiceover(
        self,
        info: Info,
        project_id: strawberry.ID,
        text: str,
        input: SynthesizeVoiceoverInput | None = None,
    ) -> Job:
        profile = info.context.profile()
        project = parse_id(project_id, "Project")
        given = input or SynthesizeVoiceoverInput()
        provider = TtsProviderName(given.provider) if given.provider else None
        async with info.context.unit_of_work(project_target(project)) as session:
            service = VoiceoverService(
                session, info.context.settings, info.context.job_service(session)
            )
            job = await service.synthesize(
                profile.profile_id, project, text, provider, given.voice_id
            )
        return Job.from_model(job)

    @strawberry.mutation(description="Deletes a voice-over and its audio file.")
    async def delete_voiceover(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        info.context.profile()
        voiceover_id = parse_id(id, "Voiceover")
        async with info.context.unit_of_work(voiceover_target(voiceover_id)) as session:
            deleted = await VoiceoverService(session, info.context.settings).delete(voiceover_id)
        # The file goes once the row is gone for good (after the commit).
        storage = info.context.services.storage
        await storage.after_commit(storage.remove_file(deleted.media_path))
        return strawberry.ID(str(deleted.id))
