"""analyzeVideo(LOCAL), the default: the FFmpeg measures, with no key and no network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.analysis.test_gemini_analysis import ANALYZE, segments
from tests.pipeline.conftest import open_env


async def test_local_analysis_works_with_no_key_and_no_network(
    engine: AsyncEngine, tmp_path: Path, pipeline_video: bytes
) -> None:
    # No key anywhere, and Gemini's address is a port where nothing listens.
    async with open_env(
        engine, tmp_path, gemini_api_key=None, gemini_base_url="http://127.0.0.1:9"
    ) as env:
        user = await env.api.new_user()
        project = await env.project_with_video(user, pipeline_video)
        default = await env.run_job(user, ANALYZE, {"p": project})
        assert default.job["kind"] == "ANALYZE_VIDEO"
        result = default.job["result"]
        assert result["analyzer"] == "LOCAL"
        rows = await segments(env, user, project)
        assert {s["kind"] for s in rows} == {"SCENE", "SPEECH", "SILENCE"}
        assert result["segments"] == len(rows)
        scenes = [s["startSeconds"] for s in rows if s["kind"] == "SCENE"]
        assert scenes == pytest.approx([0.0, 4.0, 8.0, 12.0], abs=1 / 30)
        assert all(s["label"] is None for s in rows)

        # Explicitly LOCAL, run again: the same one set of rows (replaced, not appended).
        await env.run_job(user, ANALYZE, {"p": project, "input": {"analyzer": "LOCAL"}})
        again = await segments(env, user, project)

        def key(s: dict[str, Any]) -> tuple[str, float]:
            return s["kind"], s["startSeconds"]

        # Equal starts (a scene and a speech span at 0) come in no set order.
        assert sorted(again, key=key) == sorted(rows, key=key)
