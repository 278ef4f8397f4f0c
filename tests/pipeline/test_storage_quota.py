"""The per-profile storage quota (issue 11): usage shown, uploads and media jobs refused.

Usage is what the database records for a profile's media, so it is checked here against
the files themselves: the bytes of every file under the profile's media folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api import GraphQLResult
from tests.api import TestUser as User  # aliased: pytest would try to collect it
from tests.pipeline.conftest import (
    EXPORT,
    GENERATE,
    UPLOAD,
    Env,
    expect,
    files_under,
    open_env,
)
from tests.pipeline.videos import PIPELINE

USAGE = "{ currentProfile { id storageUsedBytes storageQuotaBytes } }"
PROFILES = "{ profiles { id storageUsedBytes storageQuotaBytes } }"
TWO_CLIPS = {"variantCount": 2, "clipSeconds": 3, "aspect": "SOURCE", "accurate": False}
VOICEOVER = (
    'mutation($p: ID!) { synthesizeVoiceover(projectId: $p, text: "Quota check") '
    "{ id kind status } }"
)


def bytes_on_disk(env: Env, profile_id: str) -> int:
    return sum(p.stat().st_size for p in files_under(env.settings.media_dir / profile_id))


async def used(user: User, profile_id: str | None = None) -> int:
    data = (await user.gql(USAGE, profile_id=profile_id)).ok()["currentProfile"]
    return int(data["storageUsedBytes"])


def refused_for_quota(result: GraphQLResult, quota: int) -> dict[str, Any]:
    expect(result, "BAD_USER_INPUT")
    extensions: dict[str, Any] = result.errors[0]["extensions"]
    assert extensions["quotaBytes"] == quota
    assert "storage quota" in result.errors[0]["message"]
    return extensions


async def test_usage_follows_upload_generate_export_voiceover_delete(
    engine: AsyncEngine, tmp_path: Path, videos: dict[str, bytes]
) -> None:
    quota = 10**9
    async with open_env(engine, tmp_path, profile_storage_quota_bytes=quota) as env:
        user = await env.api.new_user()
        me = user.default_profile_id
        data = (await user.gql(USAGE)).ok()["currentProfile"]
        assert (data["storageUsedBytes"], data["storageQuotaBytes"]) == (0, quota)

        video = videos[PIPELINE.name]
        project = await env.project_with_video(user, video)
        assert await used(user) == len(video) == bytes_on_disk(env, me)

        await env.run_job(user, GENERATE, {"p": project, "input": TWO_CLIPS})
        clips = await env.clips(user, project)
        assert len(clips) == 2
        after_clips = await used(user)
        assert after_clips > len(video)
        assert after_clips == bytes_on_disk(env, me)

        await env.run_job(user, EXPORT, {"ids": [c["id"] for c in clips], "input": {"height": 240}})
        after_export = await used(user)
        assert after_export > after_clips
        assert after_export == bytes_on_disk(env, me)

        voiceover = (await env.run_job(user, VOICEOVER, {"p": project})).job
        assert voiceover["kind"] == "SYNTHESIZE_VOICEOVER"
        assert await used(user) == bytes_on_disk(env, me) > after_export

        # Another profile of the user: its own usage, and both in the list (one loader).
        other = await user.create_profile("Other")
        await env.project_with_video(user, video, "other", profile_id=other)
        listed = {p["id"]: p for p in (await user.gql(PROFILES)).ok()["profiles"]}
        assert listed[me]["storageUsedBytes"] == bytes_on_disk(env, me)
        assert listed[other]["storageUsedBytes"] == len(video)
        assert {p["storageQuotaBytes"] for p in listed.values()} == {quota}

        deleted = await user.gql("mutation($id: ID!) { deleteProject(id: $id) }", {"id": project})
        assert deleted.ok()["deleteProject"] == project
        assert await used(user) == 0 == bytes_on_disk(env, me)
        assert await used(user, other) == len(video)


async def test_quota_is_off_by_default(env: Env) -> None:
    user = await env.api.new_user()
    data = (await user.gql(USAGE)).ok()["currentProfile"]
    assert (data["storageUsedBytes"], data["storageQuotaBytes"]) == (0, None)


async def test_upload_over_the_quota_is_refused_and_leaves_nothing(
    engine: AsyncEngine, tmp_path: Path, videos: dict[str, bytes]
) -> None:
    video = videos[PIPELINE.name]
    quota = len(video) + len(video) // 2  # one video fits, two do not
    async with open_env(engine, tmp_path, profile_storage_quota_bytes=quota) as env:
        user = await env.api.new_user()
        first = await env.project_with_video(user, video, "first")
        files_before = env.media_files()

        second = await user.create_project("second")
        refused = await user.upload(UPLOAD, {"projectId": second}, {"file": ("b.mp4", video)})
        numbers = refused_for_quota(refused, quota)
        assert (numbers["usedBytes"], numbers["neededBytes"]) == (len(video), len(video))
        assert env.media_files() == files_before  # no file, no partial file
        assert env.temp_files() == []
        project = await user.gql(
            "query($id: ID!) { project(id: $id) { sourceVideo { sizeBytes } } }", {"id": second}
        )
        assert project.ok()["project"]["sourceVideo"] is None
        assert await used(user) == len(video)

        # Replacing the first project's video frees what it replaces: allowed.
        replaced = await user.upload(UPLOAD, {"projectId": first}, {"file": ("a.mp4", video)})
        assert replaced.ok()["uploadSourceVideo"]["sourceVideo"] is not None
        assert await used(user) == len(video) == bytes_on_disk(env, user.default_profile_id)

        # Another profile has a quota of its own.
        other = await user.create_profile("Other")
        await env.project_with_video(user, video, "other", profile_id=other)
        assert await used(user, other) == len(video)


async def test_media_jobs_are_refused_at_the_quota(
    engine: AsyncEngine, tmp_path: Path, videos: dict[str, bytes]
) -> None:
    video = videos[PIPELINE.name]
    async with open_env(engine, tmp_path) as env:  # no quota: make clips to export later
        user = await env.api.new_user()
        project = await env.project_with_video(user, video)
        await env.run_job(user, GENERATE, {"p": project, "input": TWO_CLIPS})
        clip_ids = [c["id"] for c in await env.clips(user, project)]
        full = await used(user)

    # No worker: a media job cancelled while queued, which retryJob would run again.
    async with open_env(engine, tmp_path, embedded_worker=False) as env:
        user = User(env.api, user.id, user.token, user.default_profile_id)
        cancelled = await env.start(user, GENERATE, {"p": project, "input": TWO_CLIPS})
        cancel = "mutation($id: ID!) { cancelJob(id: $id) { status } }"
        assert (await user.gql(cancel, {"id": cancelled["id"]})).ok()["cancelJob"]["status"] == (
            "CANCELLED"
        )
        jobs_before, _ = await env.counts()

    # The same database and media root, now with the profile exactly at its quota.
    async with open_env(engine, tmp_path, profile_storage_quota_bytes=full) as env:
        user = User(env.api, user.id, user.token, user.default_profile_id)
        for query, variables in (
            (GENERATE, {"p": project, "input": TWO_CLIPS}),
            (EXPORT, {"ids": clip_ids, "input": {"height": 240}}),
            (VOICEOVER, {"p": project}),
        ):
            numbers = refused_for_quota(await user.gql(query, variables), full)
            assert numbers["usedBytes"] == full
            assert numbers["neededBytes"] >= 1
        assert (await env.counts())[0] == jobs_before  # no job row written
        retry = await user.gql(
            "mutation($id: ID!) { retryJob(id: $id) { status } }", {"id": cancelled["id"]}
        )
        refused_for_quota(retry, full)
        assert (await env.job_row(cancelled["id"])).status.value == "CANCELLED"
        # Jobs that write no media still run at the quota.
        segments = await user.gql(
            "mutation($p: ID!) { extractSegments(projectId: $p) { id } }", {"p": project}
        )
        assert segments.ok()["extractSegments"]["id"]
