"""A fake ElevenLabs API: text to speech and the subscription, over real HTTP.

Checks what ElevenLabs checks: the ``xi-api-key`` header (401 ``invalid_api_key`` or
``needs_authorization`` otherwise, in its ``{"detail": {"status", "message"}}`` shape),
the voice id in the path (404 ``voice_not_found``), the ``output_format`` query value,
a JSON body with a string ``text`` and a known ``model_id`` (422 / 400 otherwise).
Answers real MP3 audio made by FFmpeg (a tone as long as the text would take to say),
with the ``character-cost`` and ``request-id`` headers; counts the characters into the
subscription. Can answer 429 with ``Retry-After`` for the next N calls, and records
every request.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from editai.media.binaries import Binaries
from editai.media.ffmpeg import run_ffmpeg

OUTPUT_FORMATS = {
    "mp3_22050_32", "mp3_44100_32", "mp3_44100_64", "mp3_44100_96", "mp3_44100_128",
    "mp3_44100_192",
}  # fmt: skip
MODELS = {"eleven_multilingual_v2", "eleven_flash_v2_5", "eleven_turbo_v2_5"}
DEFAULT_VOICES = {"21m00Tcm4TlvDq8ikWAM", "pNInz6obpgDQGcFmaJgB"}
SECONDS_PER_CHARACTER = 0.06


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeElevenLabs:
    """``keys``: accepted API keys. ``credits_per_character`` mimics models billing half a
    credit per character (flash/turbo): the header, not the text length, is the truth."""

    binaries: Binaries
    work_dir: Path
    keys: set[str] = field(default_factory=lambda: {"el-server-key"})
    voices: set[str] = field(default_factory=lambda: set(DEFAULT_VOICES))
    credits_per_character: float = 1.0
    tier: str = "creator"
    character_count: int = 1200
    character_limit: int = 100_000
    delay_seconds: float = 0.0  # before answering a text-to-speech call
    reset_unix: int = 1_767_225_600  # 2026-01-01T00:00:00Z
    requests: list[Recorded] = field(default_factory=list)
    received: int = 0  # text-to-speech calls that arrived (recorded once answered)
    _rate_limited: int = 0
    _retry_after: str = "1"
    _audio: dict[int, bytes] = field(default_factory=dict)

    def rate_limit(self, times: int, retry_after: float | str = 0.3) -> None:
        """The next ``times`` calls answer 429 with ``Retry-After: retry_after``."""
        self._rate_limited = times
        self._retry_after = str(retry_after)

    def calls(self, path_prefix: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/text-to-speech/{voice_id}", self._tts, methods=["POST"]),
                Route("/v1/user/subscription", self._subscription, methods=["GET"]),
            ]
        )

    # --- helpers ---------------------------------------------------------------------
    def _record(self, request: Request, body: Any, status: int) -> None:
        self.requests.append(
            Recorded(
                request.method,
                request.url.path,
                dict(request.query_params),
                {k.lower(): v for k, v in request.headers.items()},
                body,
                status,
            )
        )

    def _refused(self, request: Request) -> JSONResponse | None:
        """ElevenLabs' auth and rate-limit answers, before anything else is looked at."""
        key = request.headers.get("xi-api-key")
        if key is None:
            return _error(401, "needs_authorization", "Neither authorization header nor xi-api-key received, please provide one.")  # fmt: skip  # noqa: E501
        if key not in self.keys:
            return _error(401, "invalid_api_key", "Invalid API key")
        if self._rate_limited > 0:
            self._rate_limited -= 1
            response = _error(
                429,
                "too_many_concurrent_requests",
                "Too many concurrent requests for your subscription.",
            )
            response.headers["Retry-After"] = self._retry_after
            return response
        return None

    async def _mp3(self, seconds_ms: int) -> bytes:
        if seconds_ms not in self._audio:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            out = self.work_dir / f"tone-{seconds_ms}.mp3"
            args = [
                "-f", "lavfi",
                "-i", f"sine=frequency=300:sample_rate=44100:duration={seconds_ms / 1000}",
                "-c:a", "libmp3lame", "-b:a", "128k", str(out),
            ]  # fmt: skip
            await run_ffmpeg(self.binaries, args)
            self._audio[seconds_ms] = out.read_bytes()
        return self._audio[seconds_ms]

    # --- endpoints -------------------------------------------------------------------
    async def _tts(self, request: Request) -> Response:
        self.received += 1
        raw = await request.body()
        try:
            body: Any = await request.json()
        except ValueError:
            body = raw.decode(errors="replace")
        refused = self._refused(request)
        response = refused or await self._speak(request, body)
        self._record(request, body, response.status_code)
        return response

    async def _speak(self, request: Request, body: Any) -> Response:
        voice_id = request.path_params["voice_id"]
        output_format = request.query_params.get("output_format", "mp3_44100_128")
        if output_format not in OUTPUT_FORMATS:
            return _error(400, "invalid_output_format", f"Invalid output format {output_format}")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return _validation("body", "Input should be a valid dictionary")
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            return _validation("text", "Field required")
        model = body.get("model_id", "eleven_multilingual_v2")
        if model not in MODELS:
            return _error(400, "invalid_uid", f"An invalid ID has been received: '{model}'.")
        if voice_id not in self.voices:
            return _error(
                404, "voice_not_found", f"A voice with the voice_id {voice_id} was not found."
            )
        text: str = body["text"]
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        cost = math.ceil(len(text) * self.credits_per_character)
        self.character_count += cost
        seconds_ms = max(500, min(int(len(text) * SECONDS_PER_CHARACTER * 1000), 20_000))
        return Response(
            await self._mp3(seconds_ms),
            media_type="audio/mpeg",
            headers={"character-cost": str(cost), "request-id": uuid.uuid4().hex},
        )

    async def _subscription(self, request: Request) -> Response:
        response = self._refused(request) or JSONResponse(
            {
                "tier": self.tier,
                "character_count": self.character_count,
                "character_limit": self.character_limit,
                "can_extend_character_limit": True,
                "allowed_to_extend_character_limit": False,
                "next_character_count_reset_unix": self.reset_unix,
                "voice_limit": 30,
                "professional_voice_limit": 1,
                "can_extend_voice_limit": False,
                "can_use_instant_voice_cloning": True,
                "can_use_professional_voice_cloning": True,
                "currency": "usd",
                "status": "active",
                "billing_period": "monthly_period",
            }
        )
        self._record(request, None, response.status_code)
        return response


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"detail": {"status": code, "message": message}}, status_code=status)


def _validation(field_name: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"detail": [{"type": "missing", "loc": ["body", field_name], "msg": message}]},
        status_code=422,
    )
