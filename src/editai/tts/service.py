"""Voice-over rules: what text, which provider and voice, all checked before a job exists."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from editai.db.targets import Target
from editai.errors import BadUserInput, NotFound
from editai.integrations.credentials import ProviderCredentials, credentials_for
from editai.jobs.models import Job, JobKind
from editai.jobs.service import JobService
from editai.profiles.repository import ProfileRepository
from editai.projects.service import ProjectService
from editai.settings import Settings
from editai.tts.models import Voiceover
from editai.tts.providers import (
    MissingApiKeyError,
    TtsProviderName,
    create_provider,
    is_valid_voice,
)
from editai.tts.repository import VoiceoverRepository

VOICEOVER_NOT_FOUND = "Voiceover not found"
ELEVENLABS_KEY_MISSING = (
    "ElevenLabs needs an API key: set elevenlabsApiKey on the profile or EDITAI_ELEVENLABS_API_KEY"
)


@dataclass(frozen=True)
class VoiceChoice:
    provider: TtsProviderName
    voice_id: str


def _provider_name(value: str, origin: str) -> TtsProviderName:
    try:
        return TtsProviderName(value)
    except ValueError:
        names = ", ".join(p.value for p in TtsProviderName)
        raise BadUserInput(f"{origin} {value!r} is not one of {names}") from None


def choose_voice(
    credentials: ProviderCredentials,
    settings: Settings,
    provider: TtsProviderName | None = None,
    voice_id: str | None = None,
) -> VoiceChoice:
    """The request's provider/voice, else the profile's, else the server's defaults.

    The profile's ``ttsVoiceId`` is a voice of the profile's provider, so it is used only
    when that provider speaks. An ElevenLabs choice needs a key (profile's or global).
    """
    configured = _provider_name(credentials.tts_provider, "The configured TTS provider")
    chosen = provider or configured
    voice = voice_id.strip() if voice_id and voice_id.strip() else None
    origin = "voiceId"
    if voice is None and chosen is configured and credentials.tts_voice_id:
        voice, origin = credentials.tts_voice_id, "The profile's ttsVoiceId"
    try:
        tts = create_provider(chosen, settings, credentials)
    except MissingApiKeyError:
        raise BadUserInput(ELEVENLABS_KEY_MISSING, field="provider") from None
    if voice is None:
        voice, origin = tts.default_voice(), "The server's default voice"
    if not is_valid_voice(chosen, voice):
        raise BadUserInput(f"{origin} {voice!r} is not a {chosen.value} voice", field="voiceId")
    return VoiceChoice(chosen, voice)


def clean_text(text: str, settings: Settings) -> str:
    cleaned = text.strip()
    limit = settings.max_voiceover_characters
    if not 1 <= len(cleaned) <= limit:
        raise BadUserInput(
            f"text must have 1 to {limit} characters (without surrounding spaces)", field="text"
        )
    return cleaned


class VoiceoverService:
    def __init__(
        self, session: AsyncSession, settings: Settings, jobs: JobService | None = None
    ) -> None:
        self.session = session
        self.settings = settings
        self.repo = VoiceoverRepository(session)
        self.jobs = jobs

    async def credentials(self, profile_id: uuid.UUID) -> ProviderCredentials:
        profile = await ProfileRepository(self.session).get(profile_id)
        return credentials_for(profile, self.settings)

    async def synthesize(
        self,
        profile_id: uuid.UUID,
        project_id: uuid.UUID,
        text: str,
        provider: TtsProviderName | None = None,
        voice_id: str | None = None,
    ) -> Job:
        """Enqueue SYNTHESIZE_VOICEOVER in the caller's transaction. No key in the payload:
        the job reads the profile's (or global) key when it runs."""
        assert self.jobs is not None
        project = await ProjectService(self.session).get(project_id)
        cleaned = clean_text(text, self.settings)
        choice = choose_voice(await self.credentials(profile_id), self.settings, provider, voice_id)
        return await self.jobs.enqueue(
            JobKind.SYNTHESIZE_VOICEOVER,
            project.id,
            {"text": cleaned, "provider": choice.provider.value, "voice_id": choice.voice_id},
        )

    async def get(self, voiceover_id: uuid.UUID) -> Voiceover:
        voiceover = await self.repo.get(voiceover_id)
        if voiceover is None:
            raise NotFound(VOICEOVER_NOT_FOUND)
        return voiceover

    async def delete(self, voiceover_id: uuid.UUID) -> Voiceover:
        """Delete the row; the caller removes its file once the transaction committed."""
        voiceover = await self.get(voiceover_id)
        self.session.expunge(voiceover)
        await self.repo.delete(voiceover_id)
        return voiceover


def voiceover_target(voiceover_id: uuid.UUID) -> Target:
    """The voice-over a write names (checked before the write: db/targets.py)."""
    return Target.of(Voiceover, voiceover_id, VOICEOVER_NOT_FOUND)
