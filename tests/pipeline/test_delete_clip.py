"""deleteClip, through the GraphQL API with real FFmpeg-made clips, on both databases.

The clip goes with its export, its publications (posted to a fake Postiz) and their
files; its sibling, another profile's view and the quota see exactly that. Its own
queued jobs are cancelled, while an export of several clips goes on without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api import TestUser as User  # aliased: pytest would try to collect it
from tests.pipeline.conftest import EXPORT, Env, expect, open_env
from tests.pipeline.test_update_clip import UPDATE
from tests.publishing.conftest import (
    PUBLISH,
    fake_postiz,
    make_clips,
    publications,
    publish_vars,
    publishing_env,
    row_counts,
    video,
)

__all__ = ["video"]  # the publishing tests' 6 s video, cut into 2 s clips by stream copy

DELETE_CLIP = "mutation($id: ID!) { deleteClip(id: $id) }"
CLIP = "query($id: ID!) { clip(id: $id) { id status downloadUrl } }"
USED = "{ currentProfile { storageUsedBytes } }"


def files_of(env: Env, clip_id: str) -> dict[Path, bytes]:
    """The clip's files under the media root (its cut and its exports), with their bytes."""
    return {p: p.read_bytes() for p in env.media_files() if p.name.startswith(clip_id)}


async def project_of(user: User, clip_id: str) -> str:
    data = await user.gql("query($id: ID!) { clip(id: $id) { project { id } } }", {"id": clip_id})
    return str(data.ok()["clip"]["project"]["id"])


async def used_bytes(user: User) -> int:
    data = (await user.gql(USED)).ok()
    return int(data["currentProfile"]["storageUsedBytes"])


async def test_deleting_a_clip_removes_it_its_files_and_publications(
    engine: AsyncEngine,
    tmp_path: Path,
    video: bytes,
) -> None:
    async with fake_postiz() as fake, publishing_env(engine, tmp_path, fake) as env:
        postiz, _ = fake
        user = await env.api.new_user()
        kept, doomed = await make_clips(env, user, video)
        project_id = await project_of(user, kept["id"])
        both = {"ids": [kept["id"], doomed["id"]], "input": {"height": 180}}
        await env.run_job(user, EXPORT, both)
        await env.run_job(user, PUBLISH, publish_vars([doomed], [postiz.channel("x")["id"]]))
        [publication] = await publications(user)
        assert publication["clip"]["id"] == doomed["id"]

        doomed_files, kept_files = files_of(env, doomed["id"]), files_of(env, kept["id"])
        # Its cut and its export, each in its own folder of the project.
        assert sorted(p.parent.name for p in doomed_files) == ["clips", "exports"]
        assert sorted(p.parent.name for p in kept_files) == ["clips", "exports"]
        url = (await user.gql(CLIP, {"id": doomed["id"]})).ok()["clip"]["downloadUrl"]
        assert (await env.client.get(url)).status_code == 200
        used = await used_bytes(user)
        all_files = set(env.media_files())

        # Another user, another profile of the same user, a malformed id: NOT_FOUND, and
        # nothing changes.
        stranger = await env.api.new_user()
        expect(await stranger.gql(DELETE_CLIP, {"id": doomed["id"]}), "NOT_FOUND")
        other_profile = await user.create_profile("Other brand")
        refused = await user.gql(DELETE_CLIP, {"id": doomed["id"]}, profile_id=other_profile)
        expect(refused, "NOT_FOUND")
        expect(await user.gql(DELETE_CLIP, {"id": "not-a-clip-id"}), "NOT_FOUND")
        assert (await user.gql(CLIP, {"id": doomed["id"]})).ok()["clip"]["id"] == doomed["id"]
        assert set(env.media_files()) == all_files
        assert files_of(env, doomed["id"]) == doomed_files
        assert len(await publications(user)) == 1
        assert await used_bytes(user) == used

        deleted = await user.gql(DELETE_CLIP, {"id": doomed["id"]})
        assert deleted.ok()["deleteClip"] == doomed["id"]

        expect(await user.gql(CLIP, {"id": doomed["id"]}), "NOT_FOUND")
        assert [c["id"] for c in await env.clips(user, project_id)] == [kept["id"]]
        assert files_of(env, doomed["id"]) == {}
        assert set(env.media_files()) == all_files - set(doomed_files)
        assert files_of(env, kept["id"]) == kept_files  # the sibling's files, byte for byte
        assert (await env.client.get(url)).status_code == 404
        assert await publications(user) == []
        assert (await row_counts(env))[1] == 0  # the publication row itself, not just hidden
        freed = sum(len(data) for data in doomed_files.values())
        assert await used_bytes(user) == used - freed

        # Once gone, it stays gone.
        expect(await user.gql(DELETE_CLIP, {"id": doomed["id"]}), "NOT_FOUND")
        assert env.temp_files() == []


async def test_deleting_a_clip_cancels_its_own_jobs_only(
    engine: AsyncEngine,
    tmp_path: Path,
    video: bytes,
) -> None:
    # No embedded worker: the jobs stay QUEUED until the test runs one.
    async with open_env(engine, tmp_path, embedded_worker=False) as env:
        user = await env.api.new_user()
        async with env.worker_running():
            kept, doomed = await make_clips(env, user, video)

        def trim(clip: dict[str, Any]) -> dict[str, Any]:
            edges = {"startSeconds": clip["startSeconds"], "endSeconds": clip["endSeconds"] - 0.5}
            return {"id": clip["id"], "input": edges}

        export = {"input": {"height": 180}}
        recut_doomed = await env.start(user, UPDATE, trim(doomed))
        export_doomed = await env.start(user, EXPORT, {"ids": [doomed["id"]], **export})
        export_both = await env.start(user, EXPORT, {"ids": [kept["id"], doomed["id"]], **export})
        recut_kept = await env.start(user, UPDATE, trim(kept))
        jobs = [recut_doomed, export_doomed, export_both, recut_kept]
        assert [j["status"] for j in jobs] == ["QUEUED"] * 4

        assert (await user.gql(DELETE_CLIP, {"id": doomed["id"]})).ok()["deleteClip"]

        rows = [await env.job_row(j["id"]) for j in jobs]
        assert [r.status.value for r in rows] == ["CANCELLED", "CANCELLED", "QUEUED", "QUEUED"]
        async with env.worker_running():
            both = await env.wait(user, export_both["id"])
            kept_recut = await env.wait(user, recut_kept["id"])
        assert both.job["status"] == "SUCCEEDED", both.job
        assert both.job["result"] == {"exported_clip_ids": [kept["id"]]}
        assert kept_recut.job["status"] == "SUCCEEDED", kept_recut.job
        clips = await env.clips(user, await project_of(user, kept["id"]))
        assert [c["id"] for c in clips] == [kept["id"]]
        assert files_of(env, doomed["id"]) == {}
        assert env.temp_files() == []
