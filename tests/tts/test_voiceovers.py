"""synthesizeVoiceover -> job -> voiceover -> download, through the API with the embedded
worker, on both backends; bad input; deleting voice-overs and projects."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.media.binaries import Binaries
from tests.publishing.conftest import eventually
from tests.tts.conftest import (
    DELETE_PROJECT,
    DELETE_VOICEOVER,
    PROJECT_VOICEOVERS,
    SYNTHESIZE,
    counts,
    fake_elevenlabs,
    measure,
    result_voiceover_id,
    synthesize,
    tts_env,
    voiceover,
)

pytestmark = pytest.mark.timeout(120)

VOICEOVER_ID = "query($id: ID!) { voiceover(id: $id) { id } }"
TEXT = "  Welcome back! Today we cut a long video into three short clips.  "


def check_words(words: list[dict[str, float | str]], text: str, duration: float) -> None:
    assert " ".join(str(w["text"]) for w in words) == " ".join(text.split())
    previous = 0.0
    for word in words:
        start, end = float(word["startSeconds"]), float(word["endSeconds"])
        assert previous <= start <= end <= duration + 1e-6, words
        previous = start
    assert float(words[-1]["endSeconds"]) > duration * 0.5


async def test_local_voiceover_end_to_end(
    engine: AsyncEngine, tmp_path: Path, binaries: Binaries
) -> None:
    async with tts_env(engine, tmp_path) as env:
        user = await env.api.new_user()
        project = await user.create_project("Voice")
        run = await synthesize(env, user, project, TEXT)

        job = run.job
        assert (job["status"], job["kind"], job["progress"], job["attempts"]) == (
            "SUCCEEDED", "SYNTHESIZE_VOICEOVER", 1.0, 1,
        )  # fmt: skip
        voiceover_id = result_voiceover_id(run)
        got = await voiceover(user, voiceover_id)
        assert got["id"] == voiceover_id
        assert (got["text"], got["provider"], got["voiceId"]) == (TEXT.strip(), "LOCAL", "en-us")
        assert got["characters"] == len(TEXT.strip())
        assert got["timingsFromProvider"] is True
        assert 2.0 < got["durationSeconds"] < 10.0
        check_words(got["words"], TEXT, got["durationSeconds"])

        # The stored file: AAC, 48 kHz mono, as long as recorded, and really speech.
        audio = await env.download(got["downloadUrl"], tmp_path, "voice.m4a")
        facts = await measure(binaries, audio)
        assert (facts.codec, facts.sample_rate, facts.channels) == ("aac", 48000, 1)
        assert facts.duration == pytest.approx(got["durationSeconds"], abs=0.05)
        assert facts.max_db > -12.0, facts
        ranged = await env.client.get(got["downloadUrl"], headers={"Range": "bytes=0-99"})
        assert (ranged.status_code, len(ranged.content)) == (206, 100)

        stored = env.local.resolve(
            env.storage.voiceover_key(
                *(uuid.UUID(i) for i in (user.default_profile_id, project, voiceover_id))
            )
        )
        assert env.media_files() == [stored]
        assert env.temp_files() == []
        listed = (await user.gql(PROJECT_VOICEOVERS, {"p": project})).ok()
        assert [v["id"] for v in listed["project"]["voiceovers"]] == [voiceover_id]

        # Deleting the voice-over removes its row and its file; the URL stops working.
        deleted = await user.gql(DELETE_VOICEOVER, {"id": voiceover_id})
        assert deleted.ok()["deleteVoiceover"] == voiceover_id
        assert env.media_files() == []
        again = await user.gql(
            "query($id: ID!) { voiceover(id: $id) { id } }", {"id": voiceover_id}
        )
        assert again.code == "NOT_FOUND"
        assert (await env.client.get(got["downloadUrl"])).status_code == 404
        assert (await user.gql(DELETE_VOICEOVER, {"id": voiceover_id})).code == "NOT_FOUND"


async def test_profile_voice_and_input_override(engine: AsyncEngine, tmp_path: Path) -> None:
    async with tts_env(engine, tmp_path) as env:
        user = await env.api.new_user()
        german = await user.create_profile("German", ttsProvider="LOCAL", ttsVoiceId="de")
        project = await user.create_project("Stimme", profile_id=german)

        by_profile = await synthesize(env, user, project, "Guten Morgen", profile_id=german)
        overridden = await synthesize(
            env, user, project, "Bonjour", profile_id=german, voiceId="fr+f3"
        )
        voices = [
            (await voiceover(user, result_voiceover_id(run), profile_id=german))["voiceId"]
            for run in (by_profile, overridden)
        ]
        assert voices == ["de", "fr+f3"]
        listed = (await user.gql(PROJECT_VOICEOVERS, {"p": project}, profile_id=german)).ok()
        assert [v["voiceId"] for v in listed["project"]["voiceovers"]] == ["fr+f3", "de"]


LIMIT_MESSAGE = "text must have 1 to 40 characters (without surrounding spaces)"
NO_KEY_MESSAGE = (
    "ElevenLabs needs an API key: set elevenlabsApiKey on the profile or EDITAI_ELEVENLABS_API_KEY"
)


async def test_bad_input_writes_nothing(engine: AsyncEngine, tmp_path: Path) -> None:
    async with tts_env(engine, tmp_path, max_voiceover_characters=40) as env:
        user = await env.api.new_user()
        other = await env.api.new_user()
        project = await user.create_project("Mine")
        foreign = await other.create_project("Theirs")
        odd = await user.create_profile("Odd", ttsVoiceId="no-such-voice")
        odd_project = await user.create_project("Odd", profile_id=odd)
        before = await counts(env)

        def say(text: str = "Hi", project_id: str = project, **given: str) -> dict[str, object]:
            return {"p": project_id, "text": text, "input": given or None}

        refused: list[tuple[dict[str, object], str, str, str | None]] = [
            (say("   "), "BAD_USER_INPUT", LIMIT_MESSAGE, None),
            (say("x" * 41), "BAD_USER_INPUT", LIMIT_MESSAGE, None),
            (say(project_id=foreign), "NOT_FOUND", "Project not found", None),
            (say(project_id="not-an-id"), "NOT_FOUND", "Project not found", None),
            (
                say(voiceId="vulcan"),
                "BAD_USER_INPUT",
                "voiceId 'vulcan' is not a LOCAL voice",
                None,
            ),
            (say(voiceId="en-us+nonsense"), "BAD_USER_INPUT", "not a LOCAL voice", None),
            (say(voiceId="x" * 201), "BAD_USER_INPUT", "not a LOCAL voice", None),
            (say(provider="ELEVENLABS"), "BAD_USER_INPUT", NO_KEY_MESSAGE, None),
            (say(provider="EDGE", voiceId="aria"), "BAD_USER_INPUT", "not a EDGE voice", None),
            (
                say(project_id=odd_project),
                "BAD_USER_INPUT",
                "The profile's ttsVoiceId 'no-such-voice' is not a LOCAL voice",
                odd,
            ),
        ]
        for variables, code, message, profile_id in refused:
            result = await user.gql(SYNTHESIZE, variables, profile_id=profile_id)
            assert (result.data, result.code) == (None, code), variables
            assert message in result.errors[0]["message"], result
        # Nothing above reached the database or the disk.
        assert await counts(env) == before
        assert env.media_files() == []
        assert env.temp_files() == []
        # 40 characters once the surrounding spaces are stripped: allowed.
        run = await env.run_job(user, SYNTHESIZE, say(" " + "x" * 40 + " "))
        assert run.job["status"] == "SUCCEEDED"


async def test_deleting_the_project_removes_its_voiceovers(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with tts_env(engine, tmp_path) as env:
        user = await env.api.new_user()
        project = await user.create_project("Doomed")
        keep = await user.create_project("Kept")
        runs = [await synthesize(env, user, p, "One two three.") for p in (project, project, keep)]
        assert [r.job["status"] for r in runs] == ["SUCCEEDED"] * 3
        assert len(env.media_files()) == 3

        assert (await user.gql(DELETE_PROJECT, {"id": project})).ok()["deleteProject"] == project
        remaining = env.media_files()
        assert len(remaining) == 1
        assert keep in str(remaining[0])
        for run in runs[:2]:
            gone = await user.gql(VOICEOVER_ID, {"id": result_voiceover_id(run)})
            assert gone.code == "NOT_FOUND"


async def test_project_deleted_during_synthesis_leaves_nothing(
    engine: AsyncEngine, tmp_path: Path, binaries: Binaries
) -> None:
    async with (
        fake_elevenlabs(binaries, tmp_path / "fake", delay_seconds=1.0) as (fake, url),
        tts_env(engine, tmp_path, url, elevenlabs_api_key="el-server-key") as env,
    ):
        user = await env.api.new_user()
        project = await user.create_project("Short-lived")
        variables = {"p": project, "text": "Hello there", "input": {"provider": "ELEVENLABS"}}
        before = await counts(env)
        job = await env.start(user, SYNTHESIZE, variables)
        await eventually(lambda: fake.received == 1)  # ElevenLabs is "speaking"
        await user.gql(DELETE_PROJECT, {"id": project})
        run = await env.wait(user, job["id"])
        assert run.job["status"] in ("CANCELLED", "FAILED"), run.job
        assert env.media_files() == []
        assert env.temp_files() == []
        after = await counts(env)
        assert (after["voiceovers"], after["jobs"]) == (before["voiceovers"], before["jobs"] + 1)
