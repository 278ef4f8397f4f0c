"""Provider keys never leave the server: not in logs, not in API answers, not in plaintext
in the database.

One full run against fake ElevenLabs, Gemini and Postiz servers, with the production log
configuration (JSON lines) captured at DEBUG, plus every stdlib log record: global keys,
a profile with its own keys, and a profile whose keys the providers reject (error paths
are where keys leak). Then every key is searched for in everything captured.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.media.binaries import Binaries
from tests.analysis.test_gemini_analysis import ANALYZE, GEMINI_INPUT
from tests.api import GraphQLResult
from tests.fakes.elevenlabs import FakeElevenLabs
from tests.fakes.gemini import FakeGemini
from tests.fakes.postiz import FakePostiz
from tests.fakes.server import serve_app
from tests.pipeline.conftest import EXPORT, GENERATE, Env, open_env, videos  # noqa: F401
from tests.pipeline.videos import PIPELINE
from tests.publishing.conftest import INTEGRATIONS, PUBLISH
from tests.test_logging import JsonLines, json_logs  # noqa: F401  (the fixture)
from tests.tts.conftest import SYNTHESIZE, USAGE

# One backend is enough: what is logged does not depend on the database.
pytestmark = pytest.mark.parametrize("backend", ["postgres"])

GLOBAL = {
    "elevenlabs": "sk_global_eleven_5b1f0c2a9d",
    "gemini": "AIzaGlobalGeminiKey7e3d91c0",
    "postiz": "pz-global-key-4c2e8a61",
}
OWN = {
    "elevenlabs": "sk_profile_eleven_a3e9d7b2",
    "gemini": "AIzaProfileGeminiKey2b8f",
    "postiz": "pz-profile-key-90d1f3",
}
WRONG = {
    "elevenlabs": "sk_wrong_eleven_66c0ab1e",
    "gemini": "AIzaWrongGeminiKey11a2",
    "postiz": "pz-wrong-key-d4e5f6",
}
ALL_KEYS = [*GLOBAL.values(), *OWN.values(), *WRONG.values()]

STATUS = "{ geminiStatus { configured ok error } }"
PROFILE_FIELDS = """
{ currentProfile { id name hasElevenlabsApiKey hasGeminiApiKey hasPostizApiKey
  postizApiUrl ttsProvider ttsVoiceId } }
"""


class Recorder:
    """Keeps every GraphQL answer body, to search them for keys afterwards."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    def keep(self, result: GraphQLResult) -> GraphQLResult:
        self.bodies.append(repr(result.body))
        return result


async def _servers(
    stack: AsyncExitStack, binaries: Binaries, work_dir: Path
) -> tuple[FakeElevenLabs, FakeGemini, FakePostiz, FakePostiz, dict[str, str]]:
    eleven = FakeElevenLabs(
        binaries=binaries, work_dir=work_dir, keys={GLOBAL["elevenlabs"], OWN["elevenlabs"]}
    )
    gemini = FakeGemini({GLOBAL["gemini"], OWN["gemini"]})
    gemini.set_highlights(
        [{"start_seconds": 4.5, "end_seconds": 7.0, "score": 0.9, "reason": "pattern"}]
    )
    postiz = FakePostiz(api_key=GLOBAL["postiz"])
    own_postiz = FakePostiz(api_key=OWN["postiz"])
    urls = {
        "elevenlabs": (await stack.enter_async_context(serve_app(eleven.app))).url,
        "gemini": (await stack.enter_async_context(serve_app(gemini.app))).url,
        "postiz": (await stack.enter_async_context(serve_app(postiz.app()))).url + postiz.prefix,
        "own_postiz": (await stack.enter_async_context(serve_app(own_postiz.app()))).url
        + own_postiz.prefix,
    }
    return eleven, gemini, postiz, own_postiz, urls


async def _app(
    stack: AsyncExitStack, engine: AsyncEngine, tmp_path: Path, urls: dict[str, str]
) -> Env:
    return await stack.enter_async_context(
        open_env(
            engine,
            tmp_path,
            elevenlabs_base_url=urls["elevenlabs"],
            elevenlabs_api_key=SecretStr(GLOBAL["elevenlabs"]),
            gemini_base_url=urls["gemini"],
            gemini_api_key=SecretStr(GLOBAL["gemini"]),
            gemini_file_poll_seconds=0.02,
            postiz_api_url=urls["postiz"],
            postiz_api_key=SecretStr(GLOBAL["postiz"]),
            job_retry_base_seconds=0.05,
            provider_timeout_seconds=10.0,
        )
    )


async def _run_everything(
    env: Env,
    rec: Recorder,
    video: bytes,
    profile_id: str | None,
    postiz: FakePostiz,
    user: Any,
) -> None:
    """Analysis (Gemini), clips, a voice-over (ElevenLabs), an export, publishing (Postiz),
    usage and the Postiz channels, all in one profile; every job must succeed."""

    async def ok_job(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        run = await env.run_job(user, query, variables, profile_id=profile_id)
        return run.job

    project = await env.project_with_video(user, video, profile_id=profile_id)
    await ok_job(ANALYZE, {"p": project, **GEMINI_INPUT})
    await ok_job(GENERATE, {"p": project, "input": {"variantCount": 1, "clipSeconds": 3.0}})
    [clip] = await env.clips(user, project, profile_id=profile_id)
    voiced = await ok_job(
        SYNTHESIZE, {"p": project, "text": "Hello there", "input": {"provider": "ELEVENLABS"}}
    )
    voiceover_id = voiced["result"]["voiceover_id"]
    await ok_job(
        EXPORT, {"ids": [clip["id"]], "input": {"height": 180, "voiceoverId": voiceover_id}}
    )
    channel = postiz.channel("x")["id"]
    await ok_job(
        PUBLISH,
        {"clipIds": [clip["id"]], "integrationIds": [channel], "content": "hi", "mode": "NOW"},
    )
    usage = rec.keep(await user.gql(USAGE, profile_id=profile_id)).ok()
    assert usage["usage"]["elevenlabs"]["status"] == "OK"
    channels = rec.keep(await user.gql(INTEGRATIONS, profile_id=profile_id)).ok()
    assert channel in {c["id"] for c in channels["postizIntegrations"]}
    rec.keep(await user.gql(PROFILE_FIELDS, profile_id=profile_id))


async def _run_rejected(env: Env, rec: Recorder, video: bytes, profile_id: str, user: Any) -> None:
    """Every provider rejects this profile's keys: the failures must be readable, keyless."""
    project = await env.project_with_video(user, video, profile_id=profile_id)
    for query, variables in (
        (ANALYZE, {"p": project, **GEMINI_INPUT}),
        (SYNTHESIZE, {"p": project, "text": "Hi", "input": {"provider": "ELEVENLABS"}}),
    ):
        job = await env.start(user, query, variables, profile_id)
        failed = await env.wait(user, job["id"], profile_id=profile_id)
        rec.bodies.append(repr(failed.job))
        assert failed.job["status"] == "FAILED"
        assert "API key" in failed.job["error"] or "key" in failed.job["error"].lower()
    usage = rec.keep(await user.gql(USAGE, profile_id=profile_id)).ok()
    assert usage["usage"]["elevenlabs"]["status"] == "INVALID_KEY"
    refused = rec.keep(await user.gql(INTEGRATIONS, profile_id=profile_id))
    assert refused.code == "BAD_USER_INPUT"


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as opened:
        yield opened


async def test_provider_keys_never_leave_the_server(
    engine: AsyncEngine,
    tmp_path: Path,
    binaries: Binaries,
    videos: dict[str, bytes],  # noqa: F811
    stack: AsyncExitStack,
    caplog: pytest.LogCaptureFixture,
    json_logs: JsonLines,  # noqa: F811
) -> None:
    caplog.set_level(logging.DEBUG)
    eleven, gemini, postiz, own_postiz, urls = await _servers(stack, binaries, tmp_path)
    env = await _app(stack, engine, tmp_path / "app", urls)
    rec = Recorder()
    video = videos[PIPELINE.name]
    user = await env.api.new_user()

    # Global keys (the default profile), then a profile with keys of its own.
    await _run_everything(env, rec, video, None, postiz, user)
    own = await user.create_profile(
        "Own keys",
        elevenlabsApiKey=OWN["elevenlabs"],
        geminiApiKey=OWN["gemini"],
        postizApiUrl=urls["own_postiz"],
        postizApiKey=OWN["postiz"],
    )
    await _run_everything(env, rec, video, own, own_postiz, user)
    # The profile's own keys were the ones used (each fake saw them).
    assert any(r.headers.get("xi-api-key") == OWN["elevenlabs"] for r in eleven.requests)
    assert any(r.api_key == OWN["gemini"] for r in gemini.requests)
    assert not any(r.key_in_url for r in gemini.requests)
    assert own_postiz.posts
    assert postiz.posts

    wrong = await user.create_profile(
        "Rejected keys",
        elevenlabsApiKey=WRONG["elevenlabs"],
        geminiApiKey=WRONG["gemini"],
        postizApiKey=WRONG["postiz"],
    )
    await _run_rejected(env, rec, video, wrong, user)
    rec.keep(await env.api.gql(STATUS))

    # At rest: encrypted in the profiles table, and never copied into a job or a row of
    # what the jobs made (payloads, results, errors, publications, voice-overs).
    mine = {uuid.UUID(user.default_profile_id), uuid.UUID(own), uuid.UUID(wrong)}
    async with env.runtime.sessions.system() as session:
        rows = (
            await session.execute(
                text("SELECT * FROM profiles WHERE user_id = :u"), {"u": uuid.UUID(user.id)}
            )
        ).all()
        made = [
            (await session.execute(text(f"SELECT * FROM {table}"))).all()
            for table in ("jobs", "publications", "voiceovers", "segments", "api_costs")
        ]
    assert len(rows) == 3
    jobs_of_user = [r for r in made[0] if r.profile_id in mine]
    assert len(jobs_of_user) >= 12  # sanity: the run's jobs are in what is searched
    stored = repr(rows) + repr(made)

    logged = "\n".join(
        [
            json_logs.stream.getvalue(),
            caplog.text,
            *(repr(record.__dict__) for record in caplog.records),
        ]
    )
    # The capture saw the run: job lines of every kind, the failures and the rate limits.
    assert logged.count("job succeeded") >= 10
    assert "job failed" in logged
    answers = "\n".join(rec.bodies)
    assert "INVALID_KEY" in answers
    for key in ALL_KEYS:
        assert key not in logged, f"a key reached the logs: {key[:8]}..."
        assert key not in answers, f"a key reached an API answer: {key[:8]}..."
        assert key.encode() not in stored.encode(), f"a key is stored in plaintext: {key[:8]}"
