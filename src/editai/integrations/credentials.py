"""Which key and endpoint a profile uses for each provider: its own, else the global one."""

from __future__ import annotations

from dataclasses import dataclass

from editai.crypto import decrypt_secret
from editai.profiles.models import Profile
from editai.settings import Settings


@dataclass(frozen=True)
class ProviderCredentials:
    """Plaintext keys: keep this object inside a job or request, never log or return it."""

    tts_provider: str  # LOCAL | EDGE | ELEVENLABS
    tts_voice_id: str | None
    elevenlabs_api_key: str | None
    gemini_api_key: str | None
    postiz_api_url: str | None
    postiz_api_key: str | None

    def __repr__(self) -> str:  # never print the keys, even by accident
        return f"ProviderCredentials(tts_provider={self.tts_provider!r}, ...)"


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return getter() if getter is not None else None


def credentials_for(profile: Profile | None, settings: Settings) -> ProviderCredentials:
    """The profile's own settings and keys where it has them, the global ones otherwise."""
    secret_key = settings.secret_key.get_secret_value()

    def own(token: bytes | None) -> str | None:
        return decrypt_secret(secret_key, token) if token is not None else None

    return ProviderCredentials(
        tts_provider=(profile.tts_provider if profile and profile.tts_provider else None)
        or settings.tts_default_provider,
        tts_voice_id=profile.tts_voice_id if profile else None,
        elevenlabs_api_key=(own(profile.elevenlabs_api_key_encrypted) if profile else None)
        or _secret(settings.elevenlabs_api_key),
        gemini_api_key=(own(profile.gemini_api_key_encrypted) if profile else None)
        or _secret(settings.gemini_api_key),
        postiz_api_url=(profile.postiz_api_url if profile else None) or settings.postiz_api_url,
        postiz_api_key=(own(profile.postiz_api_key_encrypted) if profile else None)
        or _secret(settings.postiz_api_key),
    )
