"""analyzeVideo(GEMINI) end to end: GraphQL -> job -> FFmpeg proxy -> the fake Gemini
(resumable upload, polling, generateContent, delete) -> HIGHLIGHT segments and costs ->
generateRawClips landing on the highlights. PostgreSQL and SQLite."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from editai.costs.models import ApiCost
from editai.media.binaries import Binaries
from tests.analysis.conftest import GLOBAL_KEY, PROFILE_KEY, OpenEnv
from tests.api import TestUser as ApiUser
from tests.fakes.gemini import FakeGemini
from tests.media import measure
from tests.pipeline.conftest import GENERATE, JOB_FIELDS, Env, expect

ANALYZE = (
    "mutation($p: ID!, $input: AnalyzeVideoInput) "
    f"{{ analyzeVideo(projectId: $p, input: $input) {{ {JOB_FIELDS} }} }}"
)
SEGMENTS = """
query($p: ID!) { project(id: $p) { segments { kind startSeconds endSeconds score label } } }
"""
GEMINI_INPUT = {"input": {"analyzer": "GEMINI"}}
HIGHLIGHTS = [
    {"start_seconds": 12.5, "end_seconds": 15.0, "score": 0.7, "reason": "Blue screen, tone back"},
    {
        "start_seconds": 4.5,
        "end_seconds": 7.25,
        "score": 0.92,
        "reason": "The test pattern  appears",
    },
]


async def segments(
    env: Env, user: ApiUser, project_id: str, profile_id: str | None = None
) -> list[dict[str, Any]]:
    data = (await user.gql(SEGMENTS, {"p": project_id}, profile_id=profile_id)).ok()
    return list(data["project"]["segments"])


def highlights_of(rows: list[dict[str, Any]]) -> list[tuple[float, float, float, str | None]]:
    return [
        (s["startSeconds"], s["endSeconds"], s["score"], s["label"])
        for s in rows
        if s["kind"] == "HIGHLIGHT"
    ]


async def cost_rows(env: Env, job_id: str) -> list[ApiCost]:
    async with env.runtime.sessions.system() as session:
        rows = await session.scalars(
            select(ApiCost).where(ApiCost.job_id == uuid.UUID(job_id)).order_by(ApiCost.units)
        )
        return list(rows.all())


async def test_gemini_analysis_stores_highlights_costs_and_clips_land_on_them(
    gemini_env: OpenEnv,
    gemini: FakeGemini,
    pipeline_video: bytes,
    binaries: Binaries,
    tmp_path: Path,
) -> None:
    gemini.set_highlights(HIGHLIGHTS, prompt_tokens=4321, output_tokens=87, thoughts_tokens=13)
    async with gemini_env() as env:
        user = await env.api.new_user()
        project = await env.project_with_video(user, pipeline_video)
        run = await env.run_job(user, ANALYZE, {"p": project, **GEMINI_INPUT})

        job = run.job
        assert job["kind"] == "ANALYZE_VIDEO"
        assert job["attempts"] == 1
        assert job["result"] == {
            "analyzer": "GEMINI",
            "model": "gemini-2.5-flash",
            "highlights": 2,
            "dropped": 0,
            "input_tokens": 4321,
            "output_tokens": 100,
        }
        assert run.progress == sorted(run.progress)
        assert job["progress"] == 1.0

        # Stored: HIGHLIGHT segments with the model's reasons as labels.
        assert highlights_of(await segments(env, user, project)) == [
            (4.5, 7.25, 0.92, "The test pattern appears"),
            (12.5, 15.0, 0.7, "Blue screen, tone back"),
        ]

        # Costs: both token kinds, for this profile and job, with the fake's counts.
        costs = await cost_rows(env, job["id"])
        assert [(c.provider, c.units, c.quantity) for c in costs] == [
            ("gemini", "input_tokens", 4321),
            ("gemini", "output_tokens", 100),
        ]
        assert {str(c.profile_id) for c in costs} == {user.default_profile_id}
        assert all(c.cost_usd > 0 for c in costs)

        # The protocol as the fake saw it.
        kinds = [r.kind for r in gemini.requests]
        assert kinds[:2] == ["upload_start", "upload_bytes"]
        assert kinds[-2:] == ["generate", "delete_file"]
        assert set(kinds[2:-2]) == {"get_file"}
        assert len(kinds[2:-2]) >= 1
        assert all(r.status == 200 for r in gemini.requests)
        assert gemini.keys_seen() == {GLOBAL_KEY}
        assert not any(r.key_in_url for r in gemini.requests)
        # The upload URL carries its own upload id: the key is not sent there.
        (bytes_call,) = gemini.calls("upload_bytes")
        assert bytes_call.api_key is None
        assert "transfer-encoding" not in bytes_call.headers
        (stored,) = gemini.uploaded()
        assert stored.deleted
        assert stored.display_name == f"editai-{job['id']}"
        assert int(
            gemini.calls("upload_start")[0].headers["x-goog-upload-header-content-length"]
        ) == len(stored.data)

        # What was uploaded is a small real MP4 of the whole video.
        proxy = tmp_path / "uploaded.mp4"
        proxy.write_bytes(stored.data)
        fmt, streams = await measure.streams(binaries, proxy)
        video = next(s for s in streams if s["codec_type"] == "video")
        audio = next(s for s in streams if s["codec_type"] == "audio")
        assert (video["width"], video["height"]) == (640, 360)
        assert video["avg_frame_rate"] == "2/1"
        assert audio["channels"] == 1
        assert abs(float(fmt["duration"]) - 16.0) < 0.6
        assert len(stored.data) < len(pipeline_video) / 2

        # The request: the uploaded file, then the question, asking for JSON.
        (generate,) = gemini.calls("generate")
        parts = generate.body["contents"][0]["parts"]
        assert parts[0]["file_data"]["file_uri"].endswith(f"/v1beta/files/{stored.id}")
        assert "16.0 seconds" in parts[1]["text"]
        assert generate.body["generationConfig"]["responseSchema"]["type"] == "ARRAY"

        # generateRawClips now cuts at the highlights, best first.
        gen = await env.run_job(
            user,
            GENERATE,
            {"p": project, "input": {"variantCount": 2, "clipSeconds": 3, "accurate": True}},
        )
        assert gen.job["status"] == "SUCCEEDED"
        clips = sorted(await env.clips(user, project), key=lambda c: c["variantIndex"])
        assert [c["startSeconds"] for c in clips] == [4.5, 12.5]

        # A LOCAL analysis afterwards keeps the paid highlights and adds measured spans;
        # clips still land on the highlights.
        await env.run_job(user, ANALYZE, {"p": project})
        rows = await segments(env, user, project)
        assert {s["kind"] for s in rows} == {"SCENE", "SPEECH", "SILENCE", "HIGHLIGHT"}
        assert len(highlights_of(rows)) == 2
        assert all(s["label"] is None for s in rows if s["kind"] != "HIGHLIGHT")
        await env.run_job(
            user,
            GENERATE,
            {"p": project, "input": {"variantCount": 3, "clipSeconds": 3, "accurate": True}},
        )
        latest = sorted(await env.clips(user, project), key=lambda c: c["startSeconds"])
        assert {4.5, 12.5} <= {c["startSeconds"] for c in latest}

        # Re-running GEMINI replaces the highlights (one set), keeps the measured spans.
        gemini.set_highlights(
            [{"start_seconds": 8.0, "end_seconds": 9.0, "score": 0.5, "reason": "Bars"}]
        )
        await env.run_job(user, ANALYZE, {"p": project, **GEMINI_INPUT})
        rows = await segments(env, user, project)
        assert highlights_of(rows) == [(8.0, 9.0, 0.5, "Bars")]
        assert {s["kind"] for s in rows} == {"SCENE", "SPEECH", "SILENCE", "HIGHLIGHT"}


async def test_profile_key_wins_over_the_global_key(
    gemini_env: OpenEnv, gemini: FakeGemini, pipeline_video: bytes
) -> None:
    gemini.set_highlights(HIGHLIGHTS[:1])
    async with gemini_env() as env:
        user = await env.api.new_user()
        own = await user.create_profile("With own key", geminiApiKey=PROFILE_KEY)
        project = await env.project_with_video(user, pipeline_video, profile_id=own)
        await env.run_job(user, ANALYZE, {"p": project, **GEMINI_INPUT}, profile_id=own)
        assert gemini.keys_seen() == {PROFILE_KEY}

        gemini.requests.clear()
        other = await env.project_with_video(user, pipeline_video, name="Default's")
        await env.run_job(user, ANALYZE, {"p": other, **GEMINI_INPUT})
        assert gemini.keys_seen() == {GLOBAL_KEY}


async def test_a_profile_key_alone_is_enough(
    gemini_env: OpenEnv, gemini: FakeGemini, pipeline_video: bytes
) -> None:
    async with gemini_env(gemini_api_key=None) as env:
        user = await env.api.new_user()
        project = await env.project_with_video(user, pipeline_video)
        expect(await user.gql(ANALYZE, {"p": project, **GEMINI_INPUT}), "BAD_USER_INPUT")
        own = await user.create_profile("Own key", geminiApiKey=PROFILE_KEY)
        mine = await env.project_with_video(user, pipeline_video, profile_id=own)
        run = await env.run_job(user, ANALYZE, {"p": mine, **GEMINI_INPUT}, profile_id=own)
        assert run.job["result"]["highlights"] == 0  # the fake's default: nothing stands out
        assert gemini.keys_seen() == {PROFILE_KEY}
