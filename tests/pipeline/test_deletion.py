"""Deleting a project or a profile while its generateRawClips job is cutting: the job is
cancelled, its FFmpeg stopped at once, and no file of it is left (media or temp root)."""

from __future__ import annotations

import asyncio
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from editai.clips.models import Clip
from editai.costs.models import ApiCost
from editai.jobs.models import Job, JobStatus
from tests.api import TestUser as User  # aliased: pytest would try to collect it
from tests.jobs.conftest import ProcessExit, pids_referencing, process_cmdline
from tests.pipeline.conftest import EXPORT, GENERATE, LONG, Env, files_under
from tests.pipeline.videos import PIPELINE

# One accurate clip of the whole 40 s source: FFmpeg encodes for seconds.
WHOLE = {"variantCount": 1, "clipSeconds": LONG.duration, "aspect": "SOURCE", "accurate": True}


async def cutting_ffmpeg(env: Env, project_id: str, job_id: str, within: float = 30.0) -> int:
    """The pid of the FFmpeg writing the job's clip (the cut, not the analysis)."""
    temp_dir = env.storage.job_temp_dir(uuid.UUID(project_id), uuid.UUID(job_id))
    out = str(temp_dir / f"{uuid.uuid5(uuid.UUID(job_id), 'clip-0')}.mp4")
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for pid in pids_referencing(str(temp_dir)):
            if out in process_cmdline(pid):
                return pid
        await asyncio.sleep(0.02)
    raise AssertionError(f"no FFmpeg cutting {out} after {within}s")


async def job_finished(env: Env, job_id: str, project_id: str, within: float = 10.0) -> Job:
    """The job row once finished and its temp dir removed (the worker's last step)."""
    temp_dir = env.storage.job_temp_dir(uuid.UUID(project_id), uuid.UUID(job_id))
    deadline = time.monotonic() + within
    while True:
        row = await env.job_row(job_id)
        finished = row.status not in (JobStatus.QUEUED, JobStatus.RUNNING)
        if finished and not temp_dir.exists() and not pids_referencing(str(row.id)):
            return row
        assert time.monotonic() < deadline, f"job {job_id} still {row.status}"
        await asyncio.sleep(0.05)


def files_of(root: Path, *parts: str) -> list[Path]:
    return [p for p in files_under(root) if any(part in p.parts for part in parts)]


async def start_cutting(
    env: Env, user: User, project_id: str, profile_id: str | None = None
) -> tuple[str, ProcessExit]:
    job = await env.start(user, GENERATE, {"p": project_id, "input": WHOLE}, profile_id)
    pid = await cutting_ffmpeg(env, project_id, job["id"])
    return job["id"], ProcessExit(pid)


async def test_deleting_a_project_cancels_its_job_and_leaves_no_files(
    env: Env, videos: dict[str, bytes], backend: str
) -> None:
    user = await env.api.new_user()
    kept = await env.project_with_video(user, videos[PIPELINE.name], "kept")
    doomed = await env.project_with_video(user, videos[LONG.name], "doomed")
    kept_files = files_of(env.settings.media_dir, kept)
    assert len(kept_files) == 1
    job_id, ffmpeg_exit = await start_cutting(env, user, doomed)

    sent = time.perf_counter()
    deleted = await user.gql("mutation($id: ID!) { deleteProject(id: $id) }", {"id": doomed})
    assert deleted.ok()["deleteProject"] == doomed
    stopped = await ffmpeg_exit.wait(5) - sent
    print(f"\ndeleteProject -> FFmpeg exit on {backend}: {stopped * 1000:.0f} ms")
    assert stopped < 1.0

    row = await job_finished(env, job_id, doomed)
    assert (row.status, row.error, row.project_id) == (JobStatus.CANCELLED, "Cancelled", None)
    assert row.progress < 1.0
    shown = (await user.gql("query($id: ID!) { job(id: $id) { status } }", {"id": job_id})).ok()
    assert shown["job"]["status"] == "CANCELLED"
    # Nothing of the project anywhere; the other project untouched.
    assert files_of(env.settings.media_dir, doomed) == []
    assert not (env.settings.media_dir / user.default_profile_id / doomed).exists()
    assert files_under(env.settings.temp_root) == []
    assert files_of(env.settings.media_dir, kept) == kept_files
    async with env.runtime.sessions.system() as session:
        clips = await session.scalars(select(Clip).where(Clip.project_id == uuid.UUID(doomed)))
        assert clips.all() == []
    # And it stays so (no late move into place).
    await asyncio.sleep(0.5)
    assert files_of(env.settings.media_dir, doomed) == []


async def test_deleting_a_profile_cancels_its_jobs_and_keeps_their_history(
    env: Env, videos: dict[str, bytes], backend: str
) -> None:
    user = await env.api.new_user()
    kept = await env.project_with_video(user, videos[PIPELINE.name], "kept")
    doomed_profile = await user.create_profile("Doomed")
    doomed = await env.project_with_video(user, videos[LONG.name], "doomed", doomed_profile)
    job_id, ffmpeg_exit = await start_cutting(env, user, doomed, doomed_profile)
    async with env.runtime.sessions.system_transaction() as session:
        cost = ApiCost(
            profile_id=uuid.UUID(doomed_profile),
            job_id=uuid.UUID(job_id),
            provider="elevenlabs",
            operation="tts",
            units="characters",
            quantity=120.0,
            cost_usd=Decimal("0.036"),
        )
        session.add(cost)
    cost_id = cost.id

    sent = time.perf_counter()
    deleted = await user.gql(
        "mutation($id: ID!) { deleteProfile(id: $id) }", {"id": doomed_profile}
    )
    assert deleted.ok()["deleteProfile"] == doomed_profile
    stopped = await ffmpeg_exit.wait(5) - sent
    print(f"\ndeleteProfile -> FFmpeg exit on {backend}: {stopped * 1000:.0f} ms")
    assert stopped < 1.0

    row = await job_finished(env, job_id, doomed)
    assert (row.status, row.profile_id, row.project_id) == (JobStatus.CANCELLED, None, None)
    async with env.runtime.sessions.system() as session:
        kept_cost = await session.scalar(select(ApiCost).where(ApiCost.id == cost_id))
    assert kept_cost is not None
    assert (kept_cost.profile_id, kept_cost.job_id) == (None, uuid.UUID(job_id))
    assert kept_cost.cost_usd == Decimal("0.036")
    assert not (env.settings.media_dir / doomed_profile).exists()
    assert files_of(env.settings.media_dir, doomed_profile, doomed) == []
    assert files_under(env.settings.temp_root) == []
    assert len(files_of(env.settings.media_dir, kept)) == 1
    # The user's remaining profile works and no longer lists the job.
    listed = (await user.gql("{ jobs { edges { node { id } } } }")).ok()["jobs"]["edges"]
    assert job_id not in {edge["node"]["id"] for edge in listed}
    await asyncio.sleep(0.5)
    assert files_of(env.settings.media_dir, doomed_profile, doomed) == []


@pytest.mark.parametrize("exporting", ["the other project's clip", "its own clip"])
async def test_deleting_one_project_of_a_running_multi_project_export(
    env: Env, videos: dict[str, bytes], exporting: str
) -> None:
    """An export of clips from two projects belongs to neither: deleting one of them does
    not cancel it; it finishes the other project's clip, and no file of the deleted
    project comes back (also when the deleted clip was the one being encoded)."""
    user = await env.api.new_user()
    kept = await env.project_with_video(user, videos[PIPELINE.name], "kept")
    doomed = await env.project_with_video(user, videos[PIPELINE.name], "doomed")
    own = exporting == "its own clip"
    fast = {"variantCount": 1, "aspect": "SOURCE", "accurate": False}  # stream copies
    for project_id, long in ((kept, not own), (doomed, own)):
        length = 16 if long else 4  # the clip being encoded at the deletion takes longer
        await env.run_job(
            user, GENERATE, {"p": project_id, "input": {**fast, "clipSeconds": length}}
        )
    [kept_clip] = await env.clips(user, kept)
    [doomed_clip] = await env.clips(user, doomed)
    job = await env.start(
        user,
        EXPORT,
        {"ids": [kept_clip["id"], doomed_clip["id"]], "input": {"height": 360}},
    )
    # Delete while the chosen clip is being encoded (its output is in FFmpeg's arguments).
    temp_dir = env.storage.job_temp_dir(None, uuid.UUID(job["id"]))
    encoding = str(temp_dir / f"{(doomed_clip if own else kept_clip)['id']}.mp4")
    deadline = time.monotonic() + 30
    while not any(encoding in process_cmdline(pid) for pid in pids_referencing(str(temp_dir))):
        assert time.monotonic() < deadline, f"never saw FFmpeg encoding {encoding}"
        await asyncio.sleep(0.02)
    deleted = await user.gql("mutation($id: ID!) { deleteProject(id: $id) }", {"id": doomed})
    assert deleted.ok()["deleteProject"] == doomed

    done = await env.wait(user, job["id"])
    assert (done.job["status"], done.job["attempts"]) == ("SUCCEEDED", 1), done.job
    assert done.job["result"] == {"exported_clip_ids": [kept_clip["id"]]}
    [after] = await env.clips(user, kept)
    assert after["status"] == "EXPORTED"
    assert files_of(env.settings.media_dir, doomed) == []
    assert not (env.settings.media_dir / user.default_profile_id / doomed).exists()
    assert files_under(env.settings.temp_root) == []
    exports = [p for p in files_of(env.settings.media_dir, kept) if "exports" in p.parts]
    assert len(exports) == 1
