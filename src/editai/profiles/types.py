from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from editai.graphql.context import Info
from editai.graphql.loaders import when_loaded
from editai.profiles.models import Profile as ProfileModel
from editai.profiles.service import TtsProvider as TtsProviderValue

strawberry.enum(
    TtsProviderValue, name="TtsProvider", description="Text-to-speech engine for voice-overs."
)
TtsProvider = TtsProviderValue


@strawberry.type(description="A tenant: one brand or channel of the signed-in user.")
class Profile:
    id: strawberry.ID
    name: str
    description: str | None
    is_default: bool
    has_postiz_api_key: bool = strawberry.field(
        description="Whether a Postiz API key is stored. The key itself is never returned."
    )
    has_elevenlabs_api_key: bool = strawberry.field(
        description="Whether an ElevenLabs API key is stored. The key itself is never returned."
    )
    has_gemini_api_key: bool = strawberry.field(
        description="Whether a Gemini API key is stored. The key itself is never returned."
    )
    postiz_api_url: str | None
    tts_provider: TtsProvider | None
    tts_voice_id: str | None
    created_at: datetime
    updated_at: datetime

    @strawberry.field(
        description="Bytes of media the profile keeps: source videos, clips, exports and "
        "voice-overs, as recorded (Float: may exceed 32-bit Int)."
    )
    def storage_used_bytes(self, info: Info) -> float:  # plain: see ``when_loaded``
        pending = info.context.loaders.storage_used.load(uuid.UUID(str(self.id)))
        return when_loaded(pending, float)

    @strawberry.field(
        description="The per-profile storage quota in bytes (EDITAI_PROFILE_STORAGE_QUOTA_BYTES); "
        "null when there is none."
    )
    def storage_quota_bytes(self, info: Info) -> float | None:
        quota = info.context.settings.profile_storage_quota_bytes
        return None if quota is None else float(quota)

    @classmethod
    def from_model(cls, m: ProfileModel) -> Profile:
        return cls(
            id=strawberry.ID(str(m.id)),
            name=m.name,
            description=m.description,
            is_default=m.is_default,
            has_postiz_api_key=m.postiz_api_key_encrypted is not None,
            has_elevenlabs_api_key=m.elevenlabs_api_key_encrypted is not None,
            has_gemini_api_key=m.gemini_api_key_encrypted is not None,
            postiz_api_url=m.postiz_api_url,
            tts_provider=TtsProvider(m.tts_provider) if m.tts_provider else None,
            tts_voice_id=m.tts_voice_id,
            created_at=m.created_at,
            updated_at=m.updated_at,
        )


@strawberry.type(description="The signed-in user.")
class User:
    id: strawberry.ID
    email: str | None
    profiles: list[Profile]


@strawberry.input
class CreateProfileInput:
    name: str
    description: str | None = None
    tts_provider: TtsProvider | None = None
    tts_voice_id: str | None = None
    postiz_api_url: str | None = None
    postiz_api_key: str | None = strawberry.field(
        default=None, description="Stored encrypted; never returned."
    )
    elevenlabs_api_key: str | None = strawberry.field(
        default=None, description="Stored encrypted; never returned. Overrides the global key."
    )
    gemini_api_key: str | None = strawberry.field(
        default=None, description="Stored encrypted; never returned. Overrides the global key."
    )


@strawberry.input(description="Only the fields given are changed; null clears a field.")
class UpdateProfileInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    tts_provider: TtsProvider | None = strawberry.UNSET
    tts_voice_id: str | None = strawberry.UNSET
    postiz_api_url: str | None = strawberry.UNSET
    postiz_api_key: str | None = strawberry.UNSET
    elevenlabs_api_key: str | None = strawberry.UNSET
    gemini_api_key: str | None = strawberry.UNSET
