"""ELEVENLABS voice-overs through the API, against the fake ElevenLabs over real HTTP:
what is sent, what is billed and recorded, 429s, rejected keys, whose key is used."""

from __future__ import annotations

import math
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.jobs.models import Job
from editai.media.binaries import Binaries
from tests.tts.conftest import (
    PROFILE_KEY,
    SERVER_KEY,
    costs_of_job,
    counts,
    fake_elevenlabs,
    measure,
    result_voiceover_id,
    synthesize,
    tts_env,
    voiceover,
)

pytestmark = pytest.mark.timeout(120)

TEXT = "Three short clips, cut and voiced: ready to post."
VOICE = "21m00Tcm4TlvDq8ikWAM"
RETRY = "mutation($id: ID!) { retryJob(id: $id) { id status } }"


async def test_synthesis_sends_the_real_request_and_records_the_billed_characters(
    engine: AsyncEngine, tmp_path: Path, binaries: Binaries
) -> None:
    # Half a credit per character, like ElevenLabs' flash models: the recorded quantity
    # must be the character-cost header, not the text length.
    async with (
        fake_elevenlabs(binaries, tmp_path / "fake", keys={SERVER_KEY}, credits_per_character=0.5)
        as (fake, url),
        tts_env(engine, tmp_path, url, elevenlabs_api_key=SERVER_KEY) as env,
    ):  # fmt: skip
        user = await env.api.new_user()
        profile = await user.create_profile("Voiced", ttsProvider="ELEVENLABS")
        project = await user.create_project("Promo", profile_id=profile)
        run = await synthesize(env, user, project, TEXT, profile_id=profile)
        assert run.job["status"] == "SUCCEEDED", run.job

        (call,) = fake.requests
        assert (call.method, call.path, call.status) == ("POST", f"/v1/text-to-speech/{VOICE}", 200)
        assert call.query == {"output_format": "mp3_44100_128"}
        assert call.headers["xi-api-key"] == SERVER_KEY
        assert call.headers["accept"] == "audio/mpeg"
        assert call.headers["content-type"] == "application/json"
        assert call.body == {"text": TEXT, "model_id": "eleven_multilingual_v2"}

        billed = math.ceil(len(TEXT) * 0.5)
        got = await voiceover(user, result_voiceover_id(run), profile_id=profile)
        assert (got["provider"], got["voiceId"], got["characters"]) == ("ELEVENLABS", VOICE, billed)
        # ElevenLabs gives no word timings here: estimated over the real duration.
        assert got["timingsFromProvider"] is False
        assert [w["text"] for w in got["words"]] == TEXT.split()
        assert got["words"][0]["startSeconds"] == 0.0
        assert got["words"][-1]["endSeconds"] == pytest.approx(got["durationSeconds"], abs=1e-3)
        # The fake's MP3 (a tone as long as the text takes to say) became 48 kHz mono AAC.
        audio = await env.download(got["downloadUrl"], tmp_path, "el.m4a")
        facts = await measure(binaries, audio)
        assert (facts.codec, facts.sample_rate, facts.channels) == ("aac", 48000, 1)
        assert facts.duration == pytest.approx(len(TEXT) * 0.06, abs=0.1)
        assert facts.max_db > -20.0, facts  # lavfi's sine peaks at -18 dBFS: kept, not silenced

        # The cost: the profile's and the job's, at the configured rate.
        (cost,) = await costs_of_job(env, run.job["id"])
        assert cost.profile_id == uuid.UUID(profile)
        assert cost.job_id == uuid.UUID(run.job["id"])
        assert (cost.provider, cost.operation, cost.units) == (
            "elevenlabs", "text_to_speech", "characters",
        )  # fmt: skip
        assert cost.quantity == billed
        assert Decimal(cost.cost_usd) == Decimal(billed) * Decimal("0.30") / 1000


async def test_profile_key_and_voice_win_over_the_server_ones(
    engine: AsyncEngine, tmp_path: Path, binaries: Binaries
) -> None:
    other_voice = "pNInz6obpgDQGcFmaJgB"
    async with (
        fake_elevenlabs(binaries, tmp_path / "fake", keys={SERVER_KEY, PROFILE_KEY})
        as (fake, url),
        tts_env(engine, tmp_path, url, elevenlabs_api_key=SERVER_KEY) as env,
    ):  # fmt: skip
        user = await env.api.new_user()
        own = await user.create_profile(
            "Own key",
            ttsProvider="ELEVENLABS",
            ttsVoiceId=other_voice,
            elevenlabsApiKey=PROFILE_KEY,
        )
        project = await user.create_project("Mine", profile_id=own)
        run = await synthesize(env, user, project, "Hello", profile_id=own)
        assert run.job["status"] == "SUCCEEDED", run.job
        # The default profile has no key of its own and LOCAL by default; asking for
        # ElevenLabs in the input uses the server's key.
        plain = await user.create_project("Plain")
        run2 = await synthesize(env, user, plain, "Hi", provider="ELEVENLABS")
        assert run2.job["status"] == "SUCCEEDED", run2.job

        first, second = fake.requests
        assert (first.headers["xi-api-key"], first.path) == (
            PROFILE_KEY, f"/v1/text-to-speech/{other_voice}",
        )  # fmt: skip
        assert (second.headers["xi-api-key"], second.path) == (
            SERVER_KEY, f"/v1/text-to-speech/{VOICE}",
        )  # fmt: skip
        ids = [(await costs_of_job(env, r.job["id"]))[0].profile_id for r in (run, run2)]
        assert ids == [uuid.UUID(own), uuid.UUID(user.default_profile_id)]


async def test_rate_limit_is_waited_out(
    engine: AsyncEngine, tmp_path: Path, binaries: Binaries
) -> None:
    async with (
        fake_elevenlabs(binaries, tmp_path / "fake", keys={SERVER_KEY}) as (fake, url),
        tts_env(engine, tmp_path, url, elevenlabs_api_key=SERVER_KEY) as env,
    ):
        user = await env.api.new_user()
        project = await user.create_project("Busy")
        fake.rate_limit(times=2, retry_after=0.4)
        run = await synthesize(env, user, project, "Patience pays", provider="ELEVENLABS")

        assert (run.job["status"], run.job["attempts"]) == ("SUCCEEDED", 1)
        assert [r.status for r in fake.requests] == [429, 429, 200]
        gaps = [b.at - a.at for a, b in zip(fake.requests, fake.requests[1:], strict=False)]
        assert all(gap >= 0.4 for gap in gaps), gaps
        assert len(await costs_of_job(env, run.job["id"])) == 1  # only the answered call


async def test_rejected_key_fails_the_job_once_with_a_readable_error(
    engine: AsyncEngine, tmp_path: Path, binaries: Binaries
) -> None:
    wrong = "el-wrong-key-5d2e"
    async with (
        fake_elevenlabs(binaries, tmp_path / "fake", keys={SERVER_KEY}) as (fake, url),
        tts_env(engine, tmp_path, url, elevenlabs_api_key=SERVER_KEY) as env,
    ):
        user = await env.api.new_user()
        profile = await user.create_profile("Bad", ttsProvider="ELEVENLABS", elevenlabsApiKey=wrong)
        project = await user.create_project("Nope", profile_id=profile)
        before = await counts(env)
        run = await synthesize(env, user, project, "Hello", profile_id=profile)

        job = run.job
        assert (job["status"], job["attempts"]) == ("FAILED", 1), job
        assert job["error"] == "ElevenLabs rejected the API key (HTTP 401): Invalid API key"
        assert [r.status for r in fake.requests] == [401]  # not retried
        after = await counts(env)
        assert (after["voiceovers"], after["costs"]) == (before["voiceovers"], before["costs"])
        assert env.media_files() == []
        assert env.temp_files() == []


async def test_unknown_voice_fails_without_retry(
    engine: AsyncEngine, tmp_path: Path, binaries: Binaries
) -> None:
    async with (
        fake_elevenlabs(binaries, tmp_path / "fake", keys={SERVER_KEY}) as (fake, url),
        tts_env(engine, tmp_path, url, elevenlabs_api_key=SERVER_KEY) as env,
    ):
        user = await env.api.new_user()
        project = await user.create_project("Who")
        run = await synthesize(
            env, user, project, "Hello", provider="ELEVENLABS", voiceId="NoSuchVoice123"
        )
        assert (run.job["status"], run.job["attempts"]) == ("FAILED", 1), run.job
        assert run.job["error"] == (
            "ElevenLabs refused the request (HTTP 404): "
            "A voice with the voice_id NoSuchVoice123 was not found."
        )
        assert len(fake.requests) == 1


@pytest.mark.parametrize("voice", ["../user/subscription", "a/b", "x?y=1", "%2e%2e", ""])
async def test_voice_ids_that_would_change_the_url_are_refused(
    engine: AsyncEngine, tmp_path: Path, voice: str
) -> None:
    async with tts_env(
        engine, tmp_path, "http://127.0.0.1:9", elevenlabs_api_key=SERVER_KEY
    ) as env:
        user = await env.api.new_user()
        project = await user.create_project("Paths")
        before = await counts(env)
        result = await user.gql(
            "mutation($p: ID!, $input: SynthesizeVoiceoverInput) "
            '{ synthesizeVoiceover(projectId: $p, text: "Hi", input: $input) { id } }',
            {"p": project, "input": {"provider": "ELEVENLABS", "voiceId": voice}},
        )
        if voice:
            assert (result.data, result.code) == (None, "BAD_USER_INPUT")
            assert await counts(env) == before
        else:  # blank means "not given": the default voice is used
            assert result.ok()["synthesizeVoiceover"]["id"]
            run = await env.wait(user, result.ok()["synthesizeVoiceover"]["id"])
            assert run.job["status"] == "FAILED"  # nothing listens on port 9
            assert run.job["error"] == "ElevenLabs could not be reached (ConnectError)"


async def test_a_rerun_after_the_voiceover_was_stored_does_not_speak_again(
    engine: AsyncEngine, tmp_path: Path, binaries: Binaries
) -> None:
    """A worker that dies after storing the voice-over, before marking the job done: the
    job runs again and must not bill again nor replace the audio under stored timings."""
    async with (
        fake_elevenlabs(binaries, tmp_path / "fake", keys={SERVER_KEY}) as (fake, url),
        tts_env(engine, tmp_path, url, elevenlabs_api_key=SERVER_KEY) as env,
    ):
        user = await env.api.new_user()
        project = await user.create_project("Once")
        run = await synthesize(env, user, project, "Only once", provider="ELEVENLABS")
        assert run.job["status"] == "SUCCEEDED"
        stored = env.media_files()
        before = [(p, p.read_bytes()) for p in stored]
        # What the queue sees of such a crash: the job back in the queue, the row there.
        async with env.runtime.sessions.system_transaction() as session:
            await session.execute(
                update(Job).where(Job.id == uuid.UUID(run.job["id"])).values(status="FAILED")
            )
        retried = await user.gql(RETRY, {"id": run.job["id"]})
        assert retried.ok()["retryJob"]["status"] == "QUEUED"
        again = await env.wait(user, run.job["id"])

        assert again.job["status"] == "SUCCEEDED"
        assert again.job["result"] == run.job["result"]
        assert len(fake.requests) == 1
        assert len(await costs_of_job(env, run.job["id"])) == 1
        assert [(p, p.read_bytes()) for p in env.media_files()] == before
