"""analyzeVideo(GEMINI) when things go wrong: input refused at once, bad keys, rate
limits, server errors, files Gemini cannot process, and answers that are not what was
asked for. PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from editai.jobs.models import Job
from tests.analysis.conftest import GLOBAL_KEY, OpenEnv
from tests.analysis.test_gemini_analysis import (
    ANALYZE,
    GEMINI_INPUT,
    HIGHLIGHTS,
    cost_rows,
    highlights_of,
    segments,
)
from tests.api import TestUser as ApiUser
from tests.fakes.gemini import FakeGemini
from tests.pipeline.conftest import Env, expect


async def analyze_fails(env: Env, user: ApiUser, project: str) -> dict[str, Any]:
    job = await env.start(user, ANALYZE, {"p": project, **GEMINI_INPUT})
    run = await env.wait(user, job["id"], within=30)
    assert run.job["status"] == "FAILED", run.job
    return run.job


async def job_count(env: Env) -> int:
    async with env.runtime.sessions.system() as session:
        return int(await session.scalar(select(func.count()).select_from(Job)) or 0)


async def test_input_is_checked_before_any_job_exists(
    gemini_env: OpenEnv, gemini: FakeGemini, pipeline_video: bytes
) -> None:
    async with gemini_env(gemini_api_key=None) as env:
        user = await env.api.new_user()
        other = await env.api.new_user()
        project = await env.project_with_video(user, pipeline_video)
        empty = await user.create_project("No video yet")
        foreign = await other.create_project("Someone else's")
        before = await job_count(env)

        no_key = await user.gql(ANALYZE, {"p": project, **GEMINI_INPUT})
        expect(no_key, "BAD_USER_INPUT")
        assert "geminiApiKey" in no_key.errors[0]["message"]
        expect(await user.gql(ANALYZE, {"p": empty}), "BAD_USER_INPUT")
        expect(await user.gql(ANALYZE, {"p": empty, **GEMINI_INPUT}), "BAD_USER_INPUT")
        expect(await user.gql(ANALYZE, {"p": foreign, **GEMINI_INPUT}), "NOT_FOUND")
        expect(await user.gql(ANALYZE, {"p": foreign}), "NOT_FOUND")
        expect(await user.gql(ANALYZE, {"p": str(uuid.uuid4())}), "NOT_FOUND")
        expect(await user.gql(ANALYZE, {"p": "not-an-id"}), "NOT_FOUND")
        expect(await env.api.gql(ANALYZE, {"p": project}), "UNAUTHENTICATED")
        bad_enum = await user.gql(ANALYZE, {"p": project, "input": {"analyzer": "OPENAI"}})
        assert bad_enum.errors
        assert bad_enum.data is None

        assert await job_count(env) == before
        assert gemini.requests == []


@pytest.mark.parametrize(
    ("suspended", "message"),
    [
        (False, "Gemini rejected the API key (API_KEY_INVALID)"),
        (True, "Gemini rejected the API key (HTTP 403): Permission denied: Consumer 'api_key:***'"),
    ],
)
async def test_a_bad_key_fails_the_job_at_once_without_showing_it(
    gemini_env: OpenEnv,
    gemini: FakeGemini,
    pipeline_video: bytes,
    suspended: bool,
    message: str,
) -> None:
    bad = "AIza-bad-key-that-must-never-show-0123456789"
    if suspended:
        gemini.suspended_keys.add(bad)
    async with gemini_env(gemini_api_key=bad) as env:
        user = await env.api.new_user()
        project = await env.project_with_video(user, pipeline_video)
        job = await analyze_fails(env, user, project)
        assert job["attempts"] == 1  # not retried: a wrong key stays wrong
        assert job["error"].startswith(message), job["error"]
        assert bad not in json.dumps(job)
        assert [r.kind for r in gemini.requests] == ["upload_start"]
        assert gemini.files == {}
        assert await segments(env, user, project) == []
        assert await cost_rows(env, job["id"]) == []
        assert env.temp_files() == []


async def test_rate_limits_are_waited_out_within_the_same_attempt(
    gemini_env: OpenEnv, gemini: FakeGemini, pipeline_video: bytes
) -> None:
    gemini.set_highlights(HIGHLIGHTS, prompt_tokens=900, output_tokens=40)
    gemini.rate_limit("upload_start", times=1, retry_after=0.1)
    gemini.rate_limit("generate", times=2, retry_after=0.2)
    async with gemini_env() as env:
        user = await env.api.new_user()
        project = await env.project_with_video(user, pipeline_video)
        run = await env.run_job(user, ANALYZE, {"p": project, **GEMINI_INPUT})
        assert run.job["attempts"] == 1
        assert [r.status for r in gemini.calls("upload_start")] == [429, 200]
        calls = gemini.calls("generate")
        assert [r.status for r in calls] == [429, 429, 200]
        assert calls[1].at - calls[0].at >= 0.19
        assert calls[2].at - calls[1].at >= 0.19
        assert len(gemini.uploaded()) == 1  # one upload, one file
        assert [(c.units, c.quantity) for c in await cost_rows(env, run.job["id"])] == [
            ("input_tokens", 900),
            ("output_tokens", 40),
        ]
        assert len(highlights_of(await segments(env, user, project))) == 2


async def test_a_server_error_retries_the_job_and_every_upload_is_deleted(
    gemini_env: OpenEnv, gemini: FakeGemini, pipeline_video: bytes
) -> None:
    gemini.set_highlights(HIGHLIGHTS)
    gemini.fail("generate", status=503)
    async with gemini_env() as env:
        user = await env.api.new_user()
        project = await env.project_with_video(user, pipeline_video)
        run = await env.run_job(user, ANALYZE, {"p": project, **GEMINI_INPUT})
        assert run.job["attempts"] == 2
        files = gemini.uploaded()
        assert len(files) == 2
        assert all(f.deleted for f in files)
        # Costs only for the call that was answered.
        assert len(await cost_rows(env, run.job["id"])) == 2
        assert len(highlights_of(await segments(env, user, project))) == 2
        assert env.temp_files() == []


async def test_a_file_gemini_cannot_process_fails_readably(
    gemini_env: OpenEnv, gemini: FakeGemini, pipeline_video: bytes
) -> None:
    gemini.fail_processing = "Video is corrupted"
    async with gemini_env() as env:
        user = await env.api.new_user()
        project = await env.project_with_video(user, pipeline_video)
        job = await analyze_fails(env, user, project)
        assert job["error"] == "Gemini could not process the video: Video is corrupted"
        assert job["attempts"] == 1
        assert gemini.calls("generate") == []
        (stored,) = gemini.uploaded()
        assert stored.deleted


async def test_processing_that_takes_too_long_gives_up(
    gemini_env: OpenEnv, gemini: FakeGemini, pipeline_video: bytes
) -> None:
    gemini.polls_until_active = 10_000
    async with gemini_env(gemini_file_wait_seconds=0.3, job_max_attempts=1) as env:
        user = await env.api.new_user()
        project = await env.project_with_video(user, pipeline_video)
        job = await analyze_fails(env, user, project)
        assert job["error"] == "Gemini did not finish processing the video within 0.3 s"
        assert all(f.deleted for f in gemini.uploaded())


def _answer(text: str, finish: str = "STOP") -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": finish}
        ],
        "usageMetadata": {"promptTokenCount": 500, "candidatesTokenCount": 7},
    }


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (_answer("Here are the highlights: 0:04 and 0:12"), "Gemini's answer was not valid JSON"),
        (_answer('{"moments": [1, 2]}'), "Gemini's answer was not a list of highlights"),
        (_answer('[{"start_seconds": 3'), "Gemini's answer was not valid JSON"),
        (_answer('[{"start_seconds": 3', "MAX_TOKENS"), "Gemini's answer was cut off (MAX_TOKENS)"),
        (_answer("", "SAFETY"), "Gemini stopped without an answer (finish reason SAFETY)"),
        (
            json.dumps([{"start_seconds": 40, "end_seconds": 50, "score": 1, "reason": "x"}]),
            "None of the 1 highlights Gemini gave fits the 16.0 s video",
        ),
        (
            {
                "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                "usageMetadata": {"promptTokenCount": 500},
            },
            "Gemini blocked the request (PROHIBITED_CONTENT)",
        ),
    ],
)
async def test_unusable_answers_fail_readably_and_keep_the_old_highlights(
    gemini_env: OpenEnv,
    gemini: FakeGemini,
    pipeline_video: bytes,
    answer: dict[str, Any] | str,
    error: str,
) -> None:
    async with gemini_env() as env:
        user = await env.api.new_user()
        project = await env.project_with_video(user, pipeline_video)
        gemini.set_highlights(HIGHLIGHTS)
        await env.run_job(user, ANALYZE, {"p": project, **GEMINI_INPUT})
        before = await segments(env, user, project)

        if isinstance(answer, str):
            gemini.set_text(answer, prompt_tokens=500, output_tokens=7)
        else:
            gemini.set_answer(answer)
        job = await analyze_fails(env, user, project)
        assert job["error"] == error
        assert job["attempts"] == 1  # another paid call would not fix the model's answer
        assert await segments(env, user, project) == before
        # The tokens were spent all the same.
        costs = await cost_rows(env, job["id"])
        assert [c.units for c in costs] == ["input_tokens", "output_tokens"]
        assert costs[0].quantity == 500
        assert all(f.deleted for f in gemini.uploaded())


async def test_bad_items_are_dropped_and_the_rest_kept(
    gemini_env: OpenEnv, gemini: FakeGemini, pipeline_video: bytes
) -> None:
    gemini.set_highlights(
        [
            {"start_seconds": 1.0, "end_seconds": 2.5, "score": 1.7, "reason": "clamped"},
            {"start_seconds": 15.0, "end_seconds": 16.4, "score": 0.5, "reason": "pulled in"},
            {"start_seconds": 9.0, "end_seconds": 30.0, "score": 0.9, "reason": "runs past"},
            {"start_seconds": 6.0, "end_seconds": 5.0, "score": 0.9, "reason": "backwards"},
            {"start_seconds": "7", "end_seconds": 8, "score": 0.9, "reason": "a string"},
            {"start_seconds": 7.0, "end_seconds": 8.0, "reason": "no score"},
            "not an object",
        ]
    )
    async with gemini_env() as env:
        user = await env.api.new_user()
        project = await env.project_with_video(user, pipeline_video)
        run = await env.run_job(user, ANALYZE, {"p": project, **GEMINI_INPUT})
        assert run.job["result"]["highlights"] == 2
        assert run.job["result"]["dropped"] == 5
        assert highlights_of(await segments(env, user, project)) == [
            (1.0, 2.5, 1.0, "clamped"),
            (15.0, 16.0, 0.5, "pulled in"),
        ]


async def test_the_upload_url_must_stay_on_the_gemini_host(
    gemini_env: OpenEnv, gemini: FakeGemini, pipeline_video: bytes
) -> None:
    gemini.upload_url_base = "http://127.0.0.2:9"
    async with gemini_env(job_max_attempts=1) as env:
        user = await env.api.new_user()
        project = await env.project_with_video(user, pipeline_video)
        job = await analyze_fails(env, user, project)
        assert job["error"] == "Gemini's upload URL points at another host"
        assert gemini.calls("upload_bytes") == []
        assert GLOBAL_KEY not in json.dumps(job)


async def test_a_cancelled_analysis_still_deletes_its_upload(
    gemini_env: OpenEnv, gemini: FakeGemini, pipeline_video: bytes
) -> None:
    gemini.polls_until_active = 10_000  # stays PROCESSING: the job waits
    async with gemini_env() as env:
        user = await env.api.new_user()
        project = await env.project_with_video(user, pipeline_video)
        job = await env.start(user, ANALYZE, {"p": project, **GEMINI_INPUT})
        for _ in range(500):
            if gemini.calls("get_file"):
                break
            await asyncio.sleep(0.02)
        assert gemini.calls("get_file"), "the job never started polling"
        cancel = "mutation($id: ID!) { cancelJob(id: $id) { id } }"
        (await user.gql(cancel, {"id": job["id"]})).ok()
        run = await env.wait(user, job["id"], within=10)
        assert run.job["status"] == "CANCELLED"
        (stored,) = gemini.uploaded()
        assert stored.deleted
        assert gemini.calls("generate") == []
        assert await segments(env, user, project) == []
        assert env.temp_files() == []
