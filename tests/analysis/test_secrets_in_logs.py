"""The Gemini keys never reach a log line: a full analysis, a suspended key whose error
message quotes it, and the status check, with the production JSON log output captured
(and every stdlib record, DEBUG included)."""

from __future__ import annotations

import logging

import pytest

from tests.analysis.conftest import GLOBAL_KEY, PROFILE_KEY, OpenEnv
from tests.analysis.test_gemini_analysis import ANALYZE, GEMINI_INPUT, HIGHLIGHTS
from tests.fakes.gemini import FakeGemini
from tests.test_logging import JsonLines, json_logs  # noqa: F401  (the fixture)

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

SUSPENDED = "AIza-suspended-in-logs-0123456789"


async def test_keys_never_reach_the_logs(
    gemini_env: OpenEnv,
    gemini: FakeGemini,
    pipeline_video: bytes,
    caplog: pytest.LogCaptureFixture,
    json_logs: JsonLines,  # noqa: F811
) -> None:
    caplog.set_level(logging.DEBUG)
    gemini.suspended_keys.add(SUSPENDED)
    gemini.set_highlights(HIGHLIGHTS)
    gemini.rate_limit("generate", times=1, retry_after=0.05)
    async with gemini_env() as env:
        user = await env.api.new_user()
        own = await user.create_profile("Suspended", geminiApiKey=SUSPENDED)
        project = await env.project_with_video(user, pipeline_video)
        await env.run_job(user, ANALYZE, {"p": project, **GEMINI_INPUT})
        mine = await env.project_with_video(user, pipeline_video, profile_id=own)
        job = await env.start(user, ANALYZE, {"p": mine, **GEMINI_INPUT}, profile_id=own)
        failed = await env.wait(user, job["id"], profile_id=own)
        assert failed.job["status"] == "FAILED"
        status = await env.api.gql("{ geminiStatus { ok } }")
        assert status.ok()["geminiStatus"]["ok"] is True
    captured = "\n".join(
        [
            json_logs.stream.getvalue(),
            caplog.text,
            *(str(record.__dict__) for record in caplog.records),
        ]
    )
    assert "job failed" in captured  # the capture works
    assert "rate limit" in captured
    for key in (GLOBAL_KEY, PROFILE_KEY, SUSPENDED):
        assert key not in captured
