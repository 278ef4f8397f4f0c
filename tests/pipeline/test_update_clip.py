"""updateClip: trimming and extending a clip re-cuts it from the source, as a job.

Through the GraphQL API with the embedded worker and real FFmpeg, on both databases: the
clip keeps its id and shows the new range of the source (frame compared), its export is
marked stale, a refused range changes nothing, another profile's clip is not found, the
last request asked wins, and a cancelled re-cut leaves the clip and the disk as they were.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from editai.clips.models import Clip
from editai.media.binaries import Binaries
from editai.media.render import crop_box
from editai.transcripts.repository import TranscriptRepository
from tests.api import TestUser as User  # aliased: pytest would try to collect it
from tests.jobs.conftest import pids_referencing
from tests.pipeline.conftest import EXPORT, GENERATE, JOB_FIELDS, LONG, Env, expect
from tests.pipeline.test_pipeline import FRAME, luma, mean_abs_diff, near, video_facts
from tests.pipeline.videos import FPS, PIPELINE

UPDATE = (
    "mutation($id: ID!, $input: UpdateClipInput!) "
    f"{{ updateClip(id: $id, input: $input) {{ {JOB_FIELDS} }} }}"
)
CLIP = """
query($id: ID!) { clip(id: $id) {
  id startSeconds endSeconds durationSeconds aspect status exportStale downloadUrl
} }
"""
CANCEL = "mutation($id: ID!) { cancelJob(id: $id) { id status } }"


async def one_clip(
    env: Env, user: User, project_id: str, seconds: float = 4.0, aspect: str = "R9_16"
) -> dict[str, Any]:
    generated = await env.run_job(
        user,
        GENERATE,
        {
            "p": project_id,
            "input": {
                "variantCount": 1,
                "clipSeconds": seconds,
                "aspect": aspect,
                "accurate": True,
            },
        },
    )
    (clip_id,) = generated.job["result"]["clip_ids"]
    return await clip_of(user, clip_id)


async def clip_of(user: User, clip_id: str) -> dict[str, Any]:
    return dict((await user.gql(CLIP, {"id": clip_id})).ok()["clip"])


def unchanged(clip: dict[str, Any]) -> dict[str, Any]:
    """The clip as shown, its download URL without the signature (which expires, so a URL
    signed a second later differs)."""
    return clip | {"downloadUrl": clip["downloadUrl"].split("?")[0]}


async def clip_row(env: Env, clip_id: str) -> Clip:
    async with env.runtime.sessions.system() as session:
        row = await session.scalar(select(Clip).where(Clip.id == uuid.UUID(clip_id)))
    assert row is not None
    return row


def clip_files(env: Env, clip_id: str) -> list[Path]:
    return sorted((env.settings.media_dir).rglob(f"clips/{clip_id}*.mp4"))


async def test_trim_and_extend_recut_the_clip_from_the_source(
    env: Env, videos: dict[str, bytes], binaries: Binaries, tmp_path: Path
) -> None:
    user = await env.api.new_user()
    project_id = await env.project_with_video(user, videos[PIPELINE.name])
    source_url = (
        await user.gql(
            "query($p: ID!) { project(id: $p) { sourceVideo { downloadUrl } } }", {"p": project_id}
        )
    ).ok()["project"]["sourceVideo"]["downloadUrl"]
    source_path = await env.download(source_url, tmp_path, "source.mp4")
    clip = await one_clip(env, user, project_id)
    await env.run_job(user, EXPORT, {"ids": [clip["id"]], "input": {"height": 240}})
    exported = await clip_of(user, clip["id"])
    assert (exported["status"], exported["exportStale"]) == ("EXPORTED", False)
    export_url = exported["downloadUrl"]
    old_files = clip_files(env, clip["id"])
    assert len(old_files) == 1

    # Extend to 5.5 s starting at 4.5 s: across the red/testsrc2 scene cut at 4 s.
    recut = await env.run_job(
        user, UPDATE, {"id": clip["id"], "input": {"startSeconds": 4.5, "endSeconds": 10.0}}
    )
    assert recut.job["kind"] == "RECUT_CLIP"
    assert recut.job["progress"] == 1.0
    assert recut.job["result"] == {
        "clip_id": clip["id"],
        "start_seconds": 4.5,
        "end_seconds": 10.0,
        "superseded": False,
    }
    after = await clip_of(user, clip["id"])
    assert after["id"] == clip["id"]
    assert (after["startSeconds"], after["endSeconds"]) == (4.5, 10.0)
    assert near(after["durationSeconds"], 5.5, 1e-9)
    assert (after["aspect"], after["status"], after["exportStale"]) == ("R9_16", "READY", True)
    # The download is the new cut, not the stale export.
    assert after["downloadUrl"] != export_url
    path = await env.download(after["downloadUrl"], tmp_path, "recut.mp4")
    duration, video, _audio = await video_facts(binaries, path)
    assert near(duration, 5.5, FRAME), duration
    assert abs(int(video["nb_frames"]) - round(5.5 * FPS)) <= 1, video["nb_frames"]
    crop = crop_box(PIPELINE.width, PIPELINE.height, "R9_16")
    for at in (0.2, 1.0, 4.0):
        shown = await luma(binaries, path, at, tmp_path)
        expected = await luma(binaries, source_path, 4.5 + at, tmp_path, crop)
        assert mean_abs_diff(shown, expected) < 2.0, at
    # One file per clip: the old cut is gone, the export (stale) is kept.
    new_files = clip_files(env, clip["id"])
    assert len(new_files) == 1
    assert new_files != old_files
    assert recut.job["id"] in new_files[0].name
    assert (await env.client.get(export_url)).status_code == 200

    # Only one edge given: the other is kept.
    await env.run_job(user, UPDATE, {"id": clip["id"], "input": {"endSeconds": 6.0}})
    shorter = await clip_of(user, clip["id"])
    assert (shorter["startSeconds"], shorter["endSeconds"]) == (4.5, 6.0)

    # Exporting again makes the export current.
    await env.run_job(user, EXPORT, {"ids": [clip["id"]], "input": {"height": 240}})
    fresh = await clip_of(user, clip["id"])
    assert (fresh["status"], fresh["exportStale"]) == ("EXPORTED", False)
    export = await env.download(fresh["downloadUrl"], tmp_path, "export-2.mp4")
    assert near((await video_facts(binaries, export))[0], 1.5, 0.05)
    assert len(clip_files(env, clip["id"])) == 1
    assert env.temp_files() == []


@pytest.mark.parametrize(
    ("edges", "field"),
    [
        ({"startSeconds": 5.0, "endSeconds": 5.0}, "endSeconds"),
        ({"startSeconds": 6.0, "endSeconds": 5.0}, "endSeconds"),
        ({"startSeconds": -1.0, "endSeconds": 3.0}, "startSeconds"),
        ({"startSeconds": 0.0, "endSeconds": PIPELINE.duration + 0.5}, "endSeconds"),
        ({"startSeconds": 0.0, "endSeconds": 1e12}, "endSeconds"),
        ({"endSeconds": 0.05}, "endSeconds"),  # before the kept start
        ({"startSeconds": PIPELINE.duration}, "endSeconds"),  # after the kept end
    ],
)
async def test_bad_ranges_are_refused_and_change_nothing(
    env: Env, videos: dict[str, bytes], edges: dict[str, float], field: str
) -> None:
    user = await env.api.new_user()
    project_id = await env.project_with_video(user, videos[PIPELINE.name])
    clip = await one_clip(env, user, project_id, seconds=2.0)
    before_row = await clip_row(env, clip["id"])
    before_counts = await env.counts()
    result = await user.gql(UPDATE, {"id": clip["id"], "input": edges})
    expect(result, "BAD_USER_INPUT")
    assert result.errors[0]["extensions"]["field"] == field, result
    assert await env.counts() == before_counts  # no job
    after_row = await clip_row(env, clip["id"])
    assert (after_row.start_seconds, after_row.end_seconds, after_row.revision) == (
        before_row.start_seconds,
        before_row.end_seconds,
        before_row.revision,
    )
    assert unchanged(await clip_of(user, clip["id"])) == unchanged(clip)


async def test_another_profiles_clip_is_not_found(env: Env, videos: dict[str, bytes]) -> None:
    owner = await env.api.new_user()
    project_id = await env.project_with_video(owner, videos[PIPELINE.name])
    clip = await one_clip(env, owner, project_id, seconds=2.0)
    second_profile = await owner.create_profile("Second")
    stranger = await env.api.new_user()
    before = await env.counts()
    edges = {"startSeconds": 0.0, "endSeconds": 1.0}
    for user, profile in ((stranger, None), (owner, second_profile)):
        result = await user.gql(UPDATE, {"id": clip["id"], "input": edges}, profile_id=profile)
        expect(result, "NOT_FOUND")
        assert result.errors[0]["message"] == "Clip not found"
    expect(await owner.gql(UPDATE, {"id": "not-an-id", "input": edges}), "NOT_FOUND")
    expect(await owner.gql(UPDATE, {"id": str(uuid.uuid4()), "input": edges}), "NOT_FOUND")
    assert await env.counts() == before
    assert (await clip_row(env, clip["id"])).revision == 0


async def test_snap_to_words_moves_edges_out_of_words(env: Env, videos: dict[str, bytes]) -> None:
    user = await env.api.new_user()
    project_id = await env.project_with_video(user, videos[PIPELINE.name])
    clip = await one_clip(env, user, project_id, seconds=2.0)
    inside = {"startSeconds": 2.3, "endSeconds": 5.5, "snapToWords": True}
    missing = await user.gql(UPDATE, {"id": clip["id"], "input": inside})
    expect(missing, "BAD_USER_INPUT")
    assert missing.errors[0]["extensions"]["field"] == "snapToWords"
    assert "transcribeVideo" in missing.errors[0]["message"]

    words = [
        {"text": "one", "start": 1.0, "end": 1.6, "probability": 0.9},
        {"text": "two", "start": 2.0, "end": 2.7, "probability": 0.9},
        {"text": "three", "start": 5.2, "end": 5.9, "probability": 0.9},
    ]
    async with env.runtime.sessions.tenant_transaction(
        uuid.UUID(user.default_profile_id), uuid.UUID(user.id)
    ) as session:
        await TranscriptRepository(session).replace(
            uuid.UUID(project_id),
            language="en",
            duration_seconds=PIPELINE.duration,
            model="test",
            segments=[],
            words=words,
        )
    snapped = await env.run_job(user, UPDATE, {"id": clip["id"], "input": inside})
    assert (snapped.job["result"]["start_seconds"], snapped.job["result"]["end_seconds"]) == (
        2.0,
        5.9,
    )
    after = await clip_of(user, clip["id"])
    assert (after["startSeconds"], after["endSeconds"]) == (2.0, 5.9)
    # An edge in a pause stays where it was asked.
    await env.run_job(
        user, UPDATE, {"id": clip["id"], "input": {"startSeconds": 1.8, "snapToWords": True}}
    )
    assert (await clip_of(user, clip["id"]))["startSeconds"] == 1.8


async def test_the_last_update_asked_wins(env: Env, videos: dict[str, bytes]) -> None:
    user = await env.api.new_user()
    project_id = await env.project_with_video(user, videos[PIPELINE.name])
    clip = await one_clip(env, user, project_id, seconds=2.0)
    asked = [(0.5, 3.0), (1.0, 4.0), (6.0, 9.5)]
    jobs = [
        await env.start(
            user, UPDATE, {"id": clip["id"], "input": {"startSeconds": a, "endSeconds": b}}
        )
        for a, b in asked
    ]
    runs = [await env.wait(user, job["id"]) for job in jobs]
    assert [run.job["status"] for run in runs] == ["SUCCEEDED"] * 3
    assert runs[-1].job["result"]["superseded"] is False
    after = await clip_of(user, clip["id"])
    assert (after["startSeconds"], after["endSeconds"]) == asked[-1]
    files = clip_files(env, clip["id"])
    assert len(files) == 1
    assert jobs[-1]["id"] in files[0].name
    assert env.temp_files() == []


async def test_a_cancelled_recut_leaves_the_clip_and_the_disk_as_they_were(
    env: Env, videos: dict[str, bytes]
) -> None:
    user = await env.api.new_user()
    project_id = await env.project_with_video(user, videos[LONG.name], "long")
    clip = await one_clip(env, user, project_id, seconds=2.0, aspect="SOURCE")
    files = clip_files(env, clip["id"])
    whole = {"startSeconds": 0.0, "endSeconds": LONG.duration}
    job = await env.start(user, UPDATE, {"id": clip["id"], "input": whole})
    temp_dir = str(env.storage.job_temp_dir(uuid.UUID(project_id), uuid.UUID(job["id"])))
    deadline = time.monotonic() + 30
    while not pids_referencing(temp_dir):
        assert time.monotonic() < deadline, "no FFmpeg re-cutting the clip"
        await asyncio.sleep(0.02)
    assert (await user.gql(CANCEL, {"id": job["id"]})).ok()["cancelJob"]["id"] == job["id"]
    run = await env.wait(user, job["id"], within=10)
    assert run.job["status"] == "CANCELLED"
    deadline = time.monotonic() + 5
    while pids_referencing(temp_dir) or env.temp_files():
        assert time.monotonic() < deadline, "the re-cut's FFmpeg or files outlived it"
        await asyncio.sleep(0.05)
    assert unchanged(await clip_of(user, clip["id"])) == unchanged(clip)
    assert clip_files(env, clip["id"]) == files
