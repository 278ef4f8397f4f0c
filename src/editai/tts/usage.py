"""The profile's ElevenLabs subscription (characters used, limit, reset) as a report.

A query must answer promptly and must say plainly why numbers are missing, so provider
failures become a status and a message here, never an exception: NOT_CONFIGURED (no key
anywhere), INVALID_KEY (ElevenLabs rejected it), UNAVAILABLE (unreachable, rate-limited,
or an unexpected answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from editai.integrations.credentials import ProviderCredentials
from editai.integrations.errors import ProviderAuthError, ProviderError
from editai.integrations.http import request_time_settings
from editai.logging import get_logger
from editai.profiles.models import Profile
from editai.settings import Settings
from editai.tts.providers.elevenlabs import ElevenLabsProvider

log = get_logger(__name__)


class UsageStatus(StrEnum):
    OK = "OK"
    NOT_CONFIGURED = "NOT_CONFIGURED"
    INVALID_KEY = "INVALID_KEY"
    UNAVAILABLE = "UNAVAILABLE"


class KeySource(StrEnum):
    PROFILE = "PROFILE"
    SERVER = "SERVER"


@dataclass(frozen=True)
class ElevenLabsUsageReport:
    status: UsageStatus
    key_source: KeySource | None = None
    error: str | None = None
    tier: str | None = None
    character_count: int | None = None
    character_limit: int | None = None
    characters_remaining: int | None = None
    resets_at: datetime | None = None


async def elevenlabs_usage(
    profile: Profile | None, credentials: ProviderCredentials, settings: Settings
) -> ElevenLabsUsageReport:
    key = credentials.elevenlabs_api_key
    if not key:
        return ElevenLabsUsageReport(
            UsageStatus.NOT_CONFIGURED,
            error="No ElevenLabs API key: set elevenlabsApiKey on the profile or "
            "EDITAI_ELEVENLABS_API_KEY",
        )
    own = profile is not None and profile.elevenlabs_api_key_encrypted is not None
    source = KeySource.PROFILE if own else KeySource.SERVER
    try:
        plan = await ElevenLabsProvider(settings, key).subscription(request_time_settings(settings))
    except ProviderAuthError as exc:
        return ElevenLabsUsageReport(UsageStatus.INVALID_KEY, source, exc.message)
    except ProviderError as exc:
        log.info("elevenlabs usage unavailable", error=exc.message)
        return ElevenLabsUsageReport(UsageStatus.UNAVAILABLE, source, exc.message)
    return ElevenLabsUsageReport(
        UsageStatus.OK,
        source,
        tier=plan.tier,
        character_count=plan.character_count,
        character_limit=plan.character_limit,
        characters_remaining=plan.characters_remaining,
        resets_at=plan.resets_at,
    )
