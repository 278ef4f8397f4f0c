from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from editai.graphql.context import Info
from editai.media.downloads import download_url
from editai.profiles.types import TtsProvider
from editai.tts.models import Voiceover as VoiceoverModel
from editai.tts.usage import ElevenLabsUsageReport
from editai.tts.usage import KeySource as KeySourceValue
from editai.tts.usage import UsageStatus as UsageStatusValue

strawberry.enum(
    UsageStatusValue,
    name="ProviderUsageStatus",
    description="OK: numbers below are current. NOT_CONFIGURED: no key on the profile nor "
    "the server. INVALID_KEY: the provider rejected the key (see error). UNAVAILABLE: the "
    "provider could not answer now (unreachable, rate-limited; see error).",
)
ProviderUsageStatus = UsageStatusValue
strawberry.enum(
    KeySourceValue,
    name="ApiKeySource",
    description="PROFILE: the profile's own key. SERVER: the server's global key.",
)
ApiKeySource = KeySourceValue


@strawberry.type(description="One spoken word of a voice-over, in seconds from its start.")
class VoiceoverWord:
    text: str
    start_seconds: float
    end_seconds: float


@strawberry.type(description="Synthesized speech for a project: an AAC audio file and its words.")
class Voiceover:
    id: strawberry.ID
    text: str
    # A String, not the TtsProvider enum: a stored row is shown as it is, whatever it holds.
    provider: str = strawberry.field(
        description="The TtsProvider that spoke it: LOCAL, EDGE or ELEVENLABS."
    )
    voice_id: str
    characters: int = strawberry.field(
        description="Characters synthesized: for ElevenLabs the characters it billed."
    )
    duration_seconds: float
    timings_from_provider: bool = strawberry.field(
        description="True when the word timings are the provider's own; false when they "
        "were estimated from the text."
    )
    words: list[VoiceoverWord]
    created_at: datetime
    _model: strawberry.Private[VoiceoverModel]

    @classmethod
    def from_model(cls, m: VoiceoverModel) -> Voiceover:
        return cls(
            id=strawberry.ID(str(m.id)),
            text=m.text,
            provider=m.provider,
            voice_id=m.voice_id,
            characters=m.characters,
            duration_seconds=m.duration_seconds,
            timings_from_provider=m.timings_from_provider,
            words=[_word(w) for w in m.words or []],
            created_at=m.created_at,
            _model=m,
        )

    @strawberry.field(
        description="Signed, expiring URL of the audio (.m4a, AAC); answers HTTP Range requests."
    )
    def download_url(self, info: Info) -> str | None:
        return download_url(info.context.services, self._model.media_path)


def _word(raw: dict[str, Any]) -> VoiceoverWord:
    return VoiceoverWord(
        text=str(raw["text"]), start_seconds=float(raw["start"]), end_seconds=float(raw["end"])
    )


@strawberry.type(
    description="The ElevenLabs subscription of the key the profile uses (its own key, else "
    "the server's). Always present: `status` says whether the numbers are there and, if "
    "not, why; `error` is a message fit to show."
)
class ElevenLabsUsage:
    status: ProviderUsageStatus
    configured: bool = strawberry.field(description="A key is set (profile or server).")
    key_source: ApiKeySource | None
    error: str | None
    tier: str | None
    character_count: int | None = strawberry.field(description="Characters used this period.")
    character_limit: int | None = strawberry.field(description="Characters allowed per period.")
    characters_remaining: int | None
    resets_at: datetime | None = strawberry.field(
        description="When the character count next resets."
    )

    @classmethod
    def from_report(cls, r: ElevenLabsUsageReport) -> ElevenLabsUsage:
        return cls(
            status=ProviderUsageStatus(r.status),
            configured=r.status is not UsageStatusValue.NOT_CONFIGURED,
            key_source=r.key_source,
            error=r.error,
            tier=r.tier,
            character_count=r.character_count,
            character_limit=r.character_limit,
            characters_remaining=r.characters_remaining,
            resets_at=r.resets_at,
        )


@strawberry.type(description="Provider quotas of the current profile.")
class Usage:
    elevenlabs: ElevenLabsUsage


@strawberry.input(description="Both optional: the profile's ttsProvider/ttsVoiceId otherwise.")
class SynthesizeVoiceoverInput:
    provider: TtsProvider | None = None
    voice_id: str | None = strawberry.field(
        default=None,
        description="A voice of the provider: an eSpeak NG voice (en-us, fr, en-us+f3) for "
        "LOCAL, an Edge voice (en-US-AriaNeural) for EDGE, a voice id for ELEVENLABS.",
    )
