"""Query `usage`: the ElevenLabs subscription of the key the profile uses, from the fake."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.media.binaries import Binaries
from tests.tts.conftest import PROFILE_KEY, SERVER_KEY, USAGE, fake_elevenlabs, tts_env

pytestmark = pytest.mark.timeout(60)

NOTHING = {
    "tier": None,
    "characterCount": None,
    "characterLimit": None,
    "charactersRemaining": None,
    "resetsAt": None,
}


async def test_usage_with_the_server_key_then_a_profile_key(
    engine: AsyncEngine, tmp_path: Path, binaries: Binaries
) -> None:
    async with (
        fake_elevenlabs(
            binaries, tmp_path / "fake", keys={SERVER_KEY, PROFILE_KEY}, character_count=4321
        ) as (fake, url),
        tts_env(engine, tmp_path, url, elevenlabs_api_key=SERVER_KEY) as env,
    ):
        user = await env.api.new_user()
        usage = (await user.gql(USAGE)).ok()["usage"]["elevenlabs"]
        assert usage == {
            "status": "OK",
            "configured": True,
            "keySource": "SERVER",
            "error": None,
            "tier": "creator",
            "characterCount": 4321,
            "characterLimit": 100_000,
            "charactersRemaining": 100_000 - 4321,
            "resetsAt": "2026-01-01T00:00:00+00:00",
        }
        (call,) = fake.requests
        assert (call.method, call.path, call.headers["xi-api-key"]) == (
            "GET", "/v1/user/subscription", SERVER_KEY,
        )  # fmt: skip

        own = await user.create_profile("Own", elevenlabsApiKey=PROFILE_KEY)
        fake.character_count = 99_990
        usage = (await user.gql(USAGE, profile_id=own)).ok()["usage"]["elevenlabs"]
        assert (usage["status"], usage["keySource"]) == ("OK", "PROFILE")
        assert (usage["characterCount"], usage["charactersRemaining"]) == (99_990, 10)
        assert fake.requests[-1].headers["xi-api-key"] == PROFILE_KEY


async def test_usage_without_any_key(engine: AsyncEngine, tmp_path: Path) -> None:
    async with tts_env(engine, tmp_path) as env:
        user = await env.api.new_user()
        usage = (await user.gql(USAGE)).ok()["usage"]["elevenlabs"]
        assert usage == {
            "status": "NOT_CONFIGURED",
            "configured": False,
            "keySource": None,
            "error": "No ElevenLabs API key: set elevenlabsApiKey on the profile or "
            "EDITAI_ELEVENLABS_API_KEY",
            **NOTHING,
        }


async def test_usage_with_a_rejected_key(
    engine: AsyncEngine, tmp_path: Path, binaries: Binaries
) -> None:
    wrong = "el-revoked-key-0000"
    async with (
        fake_elevenlabs(binaries, tmp_path / "fake", keys={SERVER_KEY}) as (fake, url),
        tts_env(engine, tmp_path, url, elevenlabs_api_key=SERVER_KEY) as env,
    ):
        user = await env.api.new_user()
        revoked = await user.create_profile("Revoked", elevenlabsApiKey=wrong)
        result = await user.gql(USAGE, profile_id=revoked)
        usage = result.ok()["usage"]["elevenlabs"]  # an answer, not a GraphQL error
        assert usage == {
            "status": "INVALID_KEY",
            "configured": True,
            "keySource": "PROFILE",
            "error": "ElevenLabs rejected the API key (HTTP 401): Invalid API key",
            **NOTHING,
        }
        assert wrong not in str(result.body)
        assert [r.status for r in fake.requests] == [401]


async def test_usage_when_elevenlabs_is_unavailable(
    engine: AsyncEngine, tmp_path: Path, binaries: Binaries
) -> None:
    async with (
        fake_elevenlabs(binaries, tmp_path / "fake", keys={SERVER_KEY}) as (fake, url),
        tts_env(engine, tmp_path, url, elevenlabs_api_key=SERVER_KEY) as env,
    ):
        user = await env.api.new_user()
        # A query waits out one short Retry-After, not the job's patience.
        fake.rate_limit(times=1, retry_after=0.2)
        assert (await user.gql(USAGE)).ok()["usage"]["elevenlabs"]["status"] == "OK"
        fake.rate_limit(times=5, retry_after=0.2)
        usage = (await user.gql(USAGE)).ok()["usage"]["elevenlabs"]
        assert usage["status"] == "UNAVAILABLE"
        assert usage["error"] == "ElevenLabs is rate-limiting this key (asked to wait 0 s)"
        fake.rate_limit(times=1, retry_after=3600)
        usage = (await user.gql(USAGE)).ok()["usage"]["elevenlabs"]
        assert usage["error"] == "ElevenLabs is rate-limiting this key (asked to wait 3600 s)"

    async with tts_env(
        engine, tmp_path / "down", "http://127.0.0.1:9", elevenlabs_api_key=SERVER_KEY
    ) as env:
        user = await env.api.new_user()
        usage = (await user.gql(USAGE)).ok()["usage"]["elevenlabs"]
        assert (usage["status"], usage["keySource"], usage["error"]) == (
            "UNAVAILABLE", "SERVER", "ElevenLabs could not be reached (ConnectError)",
        )  # fmt: skip
