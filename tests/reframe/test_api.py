"""Reframing through GraphQL (generateRawClips), with the embedded worker, real FFmpeg and
the real detector, on PostgreSQL and SQLite."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.media.binaries import Binaries
from editai.media.render import output_size
from tests.pipeline.conftest import GENERATE, Env, expect, open_env
from tests.processes import ProcessExit
from tests.reframe import frames, videos
from tests.reframe.children import children_running

CANCEL = "mutation($id: ID!) { cancelJob(id: $id) { id status } }"
CLIPS = """
query($p: ID!) { project(id: $p) { clips(first: 50) { edges { node {
  id startSeconds aspect reframe layout multipleFaces durationSeconds downloadUrl
} } } } }
"""
W, H = output_size(videos.WIDTH, videos.HEIGHT, "R9_16")


@pytest.fixture(scope="session")
async def long_face_video(binaries: Binaries, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """20 s of a still face: its detection runs long enough to be cancelled."""
    folder = tmp_path_factory.mktemp("long-face")
    return (await videos.make_face_video(binaries, folder, videos.STILL, 20.0)).read_bytes()


async def _clips(env: Env, user: Any, project_id: str) -> list[dict[str, Any]]:
    data = (await user.gql(CLIPS, {"p": project_id})).ok()
    return [edge["node"] for edge in data["project"]["clips"]["edges"]]


async def running_detector(within: float = 60.0) -> int:
    """The pid of the face detector child, once one runs (the worker runs in this process)."""
    deadline = time.monotonic() + within
    while not (detectors := children_running("editai.reframe.faces")):
        assert time.monotonic() < deadline, "face detection never started"
        await asyncio.sleep(0.02)
    (detector,) = detectors
    return detector


async def test_generate_raw_clips_follows_the_face(
    env: Env, face_videos: dict[str, Path], binaries: Binaries, tmp_path: Path
) -> None:
    user = await env.api.new_user()
    project_id = await env.project_with_video(user, face_videos[videos.MOVING.name].read_bytes())
    framing = {"variantCount": 1, "clipSeconds": 5.0, "aspect": "R9_16", "reframe": "FACE"}
    run = await env.run_job(user, GENERATE, {"p": project_id, "input": framing})
    assert run.job["progress"] == 1.0
    assert run.progress == sorted(run.progress)
    (clip,) = await _clips(env, user, project_id)
    assert (clip["aspect"], clip["reframe"], clip["layout"], clip["multipleFaces"]) == (
        "R9_16", "FACE", "CROP", "FIT_BLUR",
    )  # fmt: skip
    path = await env.download(clip["downloadUrl"], tmp_path, "face.mp4")
    video, audio, fps = await frames.durations(binaries, path)
    assert abs(video - 5.0) <= 1 / fps + 1e-6
    assert abs(audio - 5.0) <= 1 / fps + 0.03
    centres = frames.face_centres_x(await frames.frames(binaries, path, 10.0, W, H, tmp_path))
    assert frames.share_in_middle_third(centres, W) >= 0.95

    # The whole frame over its blurred copy, stored as such; the default stays CENTER/CROP.
    whole = {"variantCount": 1, "clipSeconds": 5.0, "aspect": "R9_16", "layout": "FIT_BLUR"}
    await env.run_job(user, GENERATE, {"p": project_id, "input": whole})
    plain = {"variantCount": 1, "clipSeconds": 5.0, "aspect": "R9_16"}
    await env.run_job(user, GENERATE, {"p": project_id, "input": plain})
    framings = sorted((c["reframe"], c["layout"]) for c in await _clips(env, user, project_id))
    assert framings == [("CENTER", "CROP"), ("CENTER", "FIT_BLUR"), ("FACE", "CROP")]
    assert env.temp_files() == []


@pytest.mark.parametrize(
    ("framing", "field"),
    [
        ({"aspect": "SOURCE", "reframe": "FACE"}, "reframe"),
        ({"aspect": "SOURCE", "layout": "FIT_BLUR"}, "layout"),
        ({"aspect": "SOURCE", "reframe": "FACE", "layout": "FIT_BLUR"}, "reframe"),
        ({"aspect": "R9_16", "reframe": "FACE", "layout": "FIT_BLUR"}, "layout"),
    ],
)
async def test_framing_that_cannot_be_rendered_is_refused(
    env: Env, face_videos: dict[str, Path], framing: dict[str, str], field: str
) -> None:
    user = await env.api.new_user()
    project_id = await env.project_with_video(user, face_videos[videos.STILL.name].read_bytes())
    before = await env.counts()
    given = {"variantCount": 1, "clipSeconds": 2.0, **framing}
    result = await user.gql(GENERATE, {"p": project_id, "input": given})
    expect(result, "BAD_USER_INPUT")
    assert field in str(result.errors[0]["message"]) or field in str(result.errors[0])
    assert await env.counts() == before


async def test_cancel_during_face_detection_stops_it_within_a_second(
    env: Env, long_face_video: bytes, binaries: Binaries
) -> None:
    user = await env.api.new_user()
    project_id = await env.project_with_video(user, long_face_video)
    framing = {"variantCount": 1, "clipSeconds": 15.0, "aspect": "R9_16", "reframe": "FACE"}
    job = await env.start(user, GENERATE, {"p": project_id, "input": framing})
    detector = await running_detector()
    # The detector and the FFmpeg decoding for it (the worker runs in this process).
    watches = [ProcessExit(pid) for pid in [detector, *children_running(binaries.ffmpeg)]]
    assert len(watches) == 2
    sent = time.perf_counter()
    (await user.gql(CANCEL, {"id": job["id"]})).ok()
    latency = max([await watch.wait(5) for watch in watches]) - sent
    print(f"\ncancelJob -> face detector and its FFmpeg exit: {latency * 1000:.0f} ms")
    assert latency < 1.0
    run = await env.wait(user, job["id"], within=10)
    assert run.job["status"] == "CANCELLED"
    assert children_running("editai.reframe.faces") == []
    assert await _clips(env, user, project_id) == []
    assert env.temp_files() == []


UPDATE = (
    "mutation($id: ID!, $input: UpdateClipInput!) "
    "{ updateClip(id: $id, input: $input) { id status result } }"
)


async def test_a_recut_face_clip_is_framed_again_for_its_new_range(
    env: Env, face_videos: dict[str, Path], binaries: Binaries, tmp_path: Path
) -> None:
    """updateClip re-cuts with the clip's own framing: its face path is planned for the new
    range (here across the cut where the face jumps to the other side)."""
    user = await env.api.new_user()
    project_id = await env.project_with_video(user, face_videos[videos.SHOTS.name].read_bytes())
    framing = {"variantCount": 1, "clipSeconds": 1.0, "aspect": "R9_16", "reframe": "FACE"}
    await env.run_job(user, GENERATE, {"p": project_id, "input": framing})
    (clip,) = await _clips(env, user, project_id)
    edges = {"startSeconds": videos.CUT_AT - 1.5, "endSeconds": videos.CUT_AT + 1.5}
    run = await env.run_job(user, UPDATE, {"id": clip["id"], "input": edges})
    assert run.job["result"]["superseded"] is False
    (recut,) = await _clips(env, user, project_id)
    assert (recut["id"], recut["reframe"], recut["layout"]) == (clip["id"], "FACE", "CROP")
    assert recut["startSeconds"] == edges["startSeconds"]
    path = await env.download(recut["downloadUrl"], tmp_path, "recut.mp4")
    video, _audio, fps = await frames.durations(binaries, path)
    assert abs(video - 3.0) <= 1 / fps + 1e-6
    centres = frames.face_centres_x(await frames.frames(binaries, path, 10.0, W, H, tmp_path))
    assert frames.share_in_middle_third(centres, W) >= 0.9
    assert env.temp_files() == []


async def test_a_face_detector_that_dies_fails_the_job_readably(
    engine: AsyncEngine, tmp_path: Path, long_face_video: bytes
) -> None:
    """Killed mid-job: the job fails with a message written for the user, no clip, no
    temp files, no FFmpeg left decoding for it."""
    async with open_env(engine, tmp_path, job_max_attempts=1) as env:
        user = await env.api.new_user()
        project_id = await env.project_with_video(user, long_face_video)
        framing = {"variantCount": 1, "clipSeconds": 15.0, "aspect": "R9_16", "reframe": "FACE"}
        job = await env.start(user, GENERATE, {"p": project_id, "input": framing})
        detector = await running_detector()
        os.kill(detector, signal.SIGKILL)
        run = await env.wait(user, job["id"], within=30)
        assert run.job["status"] == "FAILED", run.job
        assert run.job["error"] == "Face detection stopped unexpectedly (exit code -9)"
        assert await _clips(env, user, project_id) == []
        assert env.temp_files() == []
        assert children_running("editai.reframe.faces") == []
