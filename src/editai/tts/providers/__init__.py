"""Text-to-speech providers by name, and which voice names each accepts.

``name`` is the profile's ``ttsProvider`` value. The Edge provider is imported only when
asked for: it pulls in the edge-tts client, which LOCAL and ELEVENLABS never need.
"""

from __future__ import annotations

from editai.integrations.credentials import ProviderCredentials
from editai.profiles.service import MAX_VOICE_ID_CHARS
from editai.profiles.service import TtsProvider as TtsProviderName
from editai.settings import Settings
from editai.tts.espeak_voices import is_known_voice
from editai.tts.providers.base import TtsProvider
from editai.tts.providers.edge_voices import is_valid_voice as is_valid_edge_voice
from editai.tts.providers.elevenlabs import ElevenLabsProvider, is_valid_voice_id
from editai.tts.providers.local import LocalTtsProvider

__all__ = [
    "MissingApiKeyError",
    "TtsProvider",
    "TtsProviderName",
    "create_provider",
    "is_valid_voice",
]


class MissingApiKeyError(Exception):
    """The provider needs a key that neither the profile nor the settings have."""

    def __init__(self, provider: TtsProviderName) -> None:
        super().__init__(f"{provider.value} needs an API key")
        self.provider = provider


def create_provider(
    name: TtsProviderName, settings: Settings, credentials: ProviderCredentials
) -> TtsProvider:
    """A provider using the credentials' keys. Cheap: nothing connects before synthesize."""
    if name is TtsProviderName.LOCAL:
        return LocalTtsProvider(settings)
    if name is TtsProviderName.EDGE:
        from editai.tts.providers.edge import EdgeTtsProvider

        return EdgeTtsProvider(settings)  # type: ignore[no-any-return, unused-ignore]
    if name is TtsProviderName.ELEVENLABS:
        if not credentials.elevenlabs_api_key:
            raise MissingApiKeyError(name)
        return ElevenLabsProvider(settings, credentials.elevenlabs_api_key)
    raise ValueError(f"unknown TTS provider {name!r}")


def is_valid_voice(name: TtsProviderName, voice_id: str) -> bool:
    """Whether ``voice_id`` can be a voice of ``name`` (checked before a job exists)."""
    if not voice_id or len(voice_id) > MAX_VOICE_ID_CHARS:
        return False
    if name is TtsProviderName.LOCAL:
        return is_known_voice(voice_id)
    if name is TtsProviderName.ELEVENLABS:
        return is_valid_voice_id(voice_id)
    return is_valid_edge_voice(voice_id)
