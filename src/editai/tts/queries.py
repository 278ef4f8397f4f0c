from __future__ import annotations

import strawberry

from editai.graphql.context import Info
from editai.graphql.ids import parse_id
from editai.integrations.credentials import credentials_for
from editai.profiles.repository import ProfileRepository
from editai.tts.service import VoiceoverService
from editai.tts.types import ElevenLabsUsage, Usage, Voiceover
from editai.tts.usage import elevenlabs_usage


@strawberry.type
class TtsQuery:
    @strawberry.field
    async def voiceover(self, info: Info, id: strawberry.ID) -> Voiceover:
        info.context.profile()
        voiceover_id = parse_id(id, "Voiceover")
        async with info.context.db() as session:
            voiceover = await VoiceoverService(session, info.context.settings).get(voiceover_id)
        return Voiceover.from_model(voiceover)

    @strawberry.field(
        description="Provider quotas for the current profile's keys. Asks ElevenLabs "
        "each time (a few hundred ms); failures show in the status, not as errors."
    )
    async def usage(self, info: Info) -> Usage:
        profile_id = info.context.profile().profile_id
        settings = info.context.settings
        async with info.context.db(end_transaction=True) as session:  # then ElevenLabs
            profile = await ProfileRepository(session).get(profile_id)
        report = await elevenlabs_usage(profile, credentials_for(profile, settings), settings)
        return Usage(elevenlabs=ElevenLabsUsage.from_report(report))
