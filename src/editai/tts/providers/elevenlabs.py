"""ELEVENLABS: the ElevenLabs REST API (``xi-api-key`` auth).

* ``POST /v1/text-to-speech/{voice_id}?output_format=...`` with ``{"text", "model_id"}``
  answers the audio; its ``character-cost`` header is what the call was billed.
* ``GET /v1/user/subscription`` tells the key's plan, characters used and limit.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from editai.integrations.errors import ProviderRequestError, ProviderResponseError
from editai.integrations.http import ProviderClient
from editai.settings import Settings
from editai.tts.providers.base import Speech

PROVIDER = "ElevenLabs"
# Voice ids are opaque tokens (e.g. 21m00Tcm4TlvDq8ikWAM): they go into the URL path,
# so anything that could change the path ("/", "..", "?", "%") is refused.
VOICE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def is_valid_voice_id(voice_id: str) -> bool:
    return VOICE_ID.fullmatch(voice_id) is not None


@dataclass(frozen=True)
class Subscription:
    tier: str | None
    character_count: int
    character_limit: int
    resets_at: datetime | None

    @property
    def characters_remaining(self) -> int:
        return max(self.character_limit - self.character_count, 0)


class ElevenLabsProvider:
    name = "ELEVENLABS"

    def __init__(self, settings: Settings, api_key: str) -> None:
        self.settings = settings
        self.api_key = api_key

    def default_voice(self) -> str:
        return self.settings.elevenlabs_default_voice_id

    def _client(self, settings: Settings | None = None) -> ProviderClient:
        return ProviderClient(
            PROVIDER,
            self.settings.elevenlabs_base_url,
            settings or self.settings,
            headers={"xi-api-key": self.api_key},
            secrets=[self.api_key],
        )

    async def synthesize(self, text: str, voice_id: str, work_dir: Path) -> Speech:
        if not is_valid_voice_id(voice_id):
            raise ProviderRequestError(PROVIDER, f"Not an ElevenLabs voice id: {voice_id!r}")
        await asyncio.to_thread(work_dir.mkdir, parents=True, exist_ok=True)
        target = work_dir / "elevenlabs.audio"
        async with self._client() as client:
            response = await client.request(
                "POST",
                f"/v1/text-to-speech/{voice_id}",
                params={"output_format": self.settings.elevenlabs_output_format},
                json_body={"text": text, "model_id": self.settings.elevenlabs_model_id},
                headers={"Accept": "audio/mpeg"},
                stream_to=target,
            )
        if not await asyncio.to_thread(_has_content, target):
            raise ProviderResponseError(PROVIDER, "ElevenLabs answered no audio")
        return Speech(audio_path=target, billed_characters=_billed(response.headers, text))

    async def subscription(self, settings: Settings | None = None) -> Subscription:
        """The key's plan and character usage. ``settings`` may tighten retries/timeouts."""
        async with self._client(settings) as client:
            response = await client.request("GET", "/v1/user/subscription")
        try:
            body: Any = response.json()
            count, limit = int(body["character_count"]), int(body["character_limit"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ProviderResponseError(
                PROVIDER, "ElevenLabs answered an unexpected subscription shape"
            ) from exc
        reset = body.get("next_character_count_reset_unix")
        return Subscription(
            tier=str(body["tier"]) if body.get("tier") is not None else None,
            character_count=count,
            character_limit=limit,
            resets_at=datetime.fromtimestamp(int(reset), UTC) if reset else None,
        )


def _has_content(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _billed(headers: Any, text: str) -> int:
    """Characters billed, from ``character-cost``. Without that header (an older API or a
    proxy that strips it) the text length is the best estimate of what ElevenLabs counts."""
    value = headers.get("character-cost")
    try:
        return max(int(value), 0) if value is not None else len(text)
    except ValueError:
        return len(text)
