"""publishClips through the GraphQL API with the embedded worker, against fake Postiz
servers on 127.0.0.1, with real clips cut by FFmpeg; on PostgreSQL and SQLite."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.clips.models import Clip
from editai.crypto import encrypt_secret
from editai.media.binaries import Binaries
from editai.profiles.models import Profile
from tests.api import TestUser as ApiUser
from tests.media import measure
from tests.pipeline.conftest import EXPORT, JOB, expect
from tests.publishing.conftest import (
    INTEGRATIONS,
    PUBLISH,
    RETRY,
    eventually,
    fake_postiz,
    make_clips,
    publications,
    publish_vars,
    publishing_env,
    row_counts,
)

CLIP_PUBLICATIONS = """
query($id: ID!) { clip(id: $id) { id publications { id integrationId status postizPostId } } }
"""


async def test_publish_now_posts_each_clip_once_to_all_channels(
    engine: AsyncEngine, tmp_path: Path, video: bytes, binaries: Binaries
) -> None:
    async with fake_postiz() as (fake, url), publishing_env(engine, tmp_path, (fake, url)) as env:
        user = await env.api.new_user()
        clips = await make_clips(env, user, video)

        listed = (await user.gql(INTEGRATIONS)).ok()["postizIntegrations"]
        assert {(c["provider"], c["disabled"]) for c in listed} == {
            ("x", False),
            ("linkedin", False),
            ("youtube", True),
        }
        assert {c["id"] for c in listed} == {c["id"] for c in fake.channels}
        x, linkedin = fake.channel("x"), fake.channel("linkedin")

        job = await env.start(user, PUBLISH, publish_vars(clips, [x["id"], linkedin["id"]]))
        assert job["kind"] == "PUBLISH_CLIPS"
        # The rows exist as soon as the mutation answers, one per clip and channel.
        early = await publications(user, jobId=job["id"])
        assert len(early) == 4
        assert {p["status"] for p in early} <= {"PENDING", "PUBLISHED"}
        run = await env.wait(user, job["id"])
        assert run.job["status"] == "SUCCEEDED", run.job
        assert run.job["attempts"] == 1
        assert run.job["progress"] == 1.0
        assert run.job["result"]["posted"] == 4

        # One upload per clip, one POST /posts per clip naming both channels.
        assert len(fake.uploads) == 2
        assert len(fake.calls("POST", "/posts")) == 2
        groups: dict[int, list[str]] = {}
        for post in fake.posts:
            groups.setdefault(post.group, []).append(post.integration_id)
            assert post.type == "now"
            assert post.content == "New clip out now"
        assert sorted(sorted(g) for g in groups.values()) == [sorted([x["id"], linkedin["id"]])] * 2
        # The raw key, no "Bearer"; the upload streamed with a length, not chunked.
        assert {r.authorization for r in fake.requests} == {fake.api_key}
        uploads = fake.calls("POST", "/upload")
        assert all(r.content_length for r in uploads)
        assert not any(r.transfer_encoding for r in uploads)

        rows = await publications(user, jobId=job["id"])
        assert {p["status"] for p in rows} == {"PUBLISHED"}
        assert {p["postizPostId"] for p in rows} == {p.id for p in fake.posts}
        assert {(p["integrationId"], p["integrationProvider"]) for p in rows} == {
            (x["id"], "x"),
            (linkedin["id"], "linkedin"),
        }
        assert {(p["mode"], p["scheduledAt"], p["jobId"], p["error"]) for p in rows} == {
            ("NOW", None, job["id"], None)
        }

        # Each clip's post carries that clip's own upload: its real file, byte for byte.
        for clip in clips:
            mine = [p for p in rows if p["clip"]["id"] == clip["id"]]
            assert len(mine) == 2
            posts = [p for p in fake.posts if p.id in {m["postizPostId"] for m in mine}]
            (image_id,) = {i for p in posts for i in p.image_ids}
            upload = fake.uploads[image_id]
            assert upload.content_type == "video/mp4"
            file = await env.download(clip["downloadUrl"], tmp_path, f"{clip['id']}.mp4")
            assert upload.data == file.read_bytes()
            sent = tmp_path / f"sent-{clip['id']}.mp4"
            sent.write_bytes(upload.data)
            fmt, streams = await measure.streams(binaries, sent)
            assert abs(float(fmt["duration"]) - clip["durationSeconds"]) < 0.2
            assert {s["codec_type"] for s in streams} == {"video", "audio"}

            listed_on_clip = (await user.gql(CLIP_PUBLICATIONS, {"id": clip["id"]})).ok()
            assert {p["id"] for p in listed_on_clip["clip"]["publications"]} == {
                m["id"] for m in mine
            }
        by_clip = await publications(user, clipId=clips[0]["id"])
        assert len(by_clip) == 2
        assert await publications(user, status="FAILED") == []


async def test_schedule_and_draft(engine: AsyncEngine, tmp_path: Path, video: bytes) -> None:
    async with fake_postiz() as (fake, url), publishing_env(engine, tmp_path, (fake, url)) as env:
        user = await env.api.new_user()
        clips = await make_clips(env, user, video, count=1)
        x = fake.channel("x")["id"]
        when = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)

        scheduled = await env.run_job(
            user, PUBLISH, publish_vars(clips, [x], "SCHEDULE", date=when.isoformat())
        )
        drafted = await env.run_job(user, PUBLISH, publish_vars(clips, [x], "DRAFT"))

        (sched_row,) = await publications(user, jobId=scheduled.job["id"])
        assert sched_row["status"] == "SCHEDULED"
        assert sched_row["mode"] == "SCHEDULE"
        assert datetime.fromisoformat(sched_row["scheduledAt"]) == when
        (draft_row,) = await publications(user, jobId=drafted.job["id"])
        assert draft_row["status"] == "DRAFT"
        assert draft_row["scheduledAt"] is None

        first, second = fake.posts
        assert first.type == "schedule"
        assert datetime.fromisoformat(first.date.replace("Z", "+00:00")) == when
        assert first.date.endswith("Z")
        assert second.type == "draft"
        assert {sched_row["postizPostId"], draft_row["postizPostId"]} == {first.id, second.id}
        # Each job uploads the clip for its own post.
        assert len(fake.uploads) == 2
        assert len(await publications(user, clipId=clips[0]["id"])) == 2


async def test_the_export_is_published_when_the_clip_has_one(
    engine: AsyncEngine, tmp_path: Path, video: bytes
) -> None:
    async with fake_postiz() as (fake, url), publishing_env(engine, tmp_path, (fake, url)) as env:
        user = await env.api.new_user()
        (clip,) = await make_clips(env, user, video, count=1)
        raw = await env.download(clip["downloadUrl"], tmp_path, "raw.mp4")
        await env.run_job(user, EXPORT, {"ids": [clip["id"]], "input": {"height": 144}})
        (exported,) = await env.clips(user, (await _project_of(user, clip["id"])))
        export = await env.download(exported["downloadUrl"], tmp_path, "export.mp4")
        assert export.read_bytes() != raw.read_bytes()

        await env.run_job(user, PUBLISH, publish_vars([clip], [fake.channel("x")["id"]]))
        (upload,) = fake.uploads.values()
        assert upload.data == export.read_bytes()


async def _project_of(user: ApiUser, clip_id: str) -> str:
    result = await user.gql("query($id: ID!) { clip(id: $id) { project { id } } }", {"id": clip_id})
    project_id: str = result.ok()["clip"]["project"]["id"]
    return project_id


async def test_profile_url_and_key_override_the_global_ones(
    engine: AsyncEngine, tmp_path: Path, video: bytes
) -> None:
    async with (
        fake_postiz() as (global_fake, global_url),
        fake_postiz("/api/public/v1") as (own_fake, own_url),
        publishing_env(engine, tmp_path, (global_fake, global_url)) as env,
    ):
        user = await env.api.new_user()
        branded = await user.create_profile(
            "Brand", postizApiUrl=own_url, postizApiKey=own_fake.api_key
        )
        own_ids = {c["id"] for c in own_fake.channels}
        listed = (await user.gql(INTEGRATIONS, profile_id=branded)).ok()["postizIntegrations"]
        assert {c["id"] for c in listed} == own_ids
        default = (await user.gql(INTEGRATIONS)).ok()["postizIntegrations"]
        assert {c["id"] for c in default} == {c["id"] for c in global_fake.channels}
        assert len(global_fake.requests) == 1

        clips = await make_clips(env, user, video, count=1, profile_id=branded)
        channel = own_fake.channel("linkedin")["id"]
        await env.run_job(user, PUBLISH, publish_vars(clips, [channel]), profile_id=branded)
        assert len(global_fake.requests) == 1  # the profile never touched the global Postiz
        assert {r.authorization for r in own_fake.requests} == {own_fake.api_key}
        assert [p.integration_id for p in own_fake.posts] == [channel]
        # The global server's channels are not the profile's.
        global_channel = global_fake.channel("x")["id"]
        refused = await user.gql(PUBLISH, publish_vars(clips, [global_channel]), profile_id=branded)
        expect(refused, "BAD_USER_INPUT")


async def test_a_rejected_key_is_a_readable_error_and_fails_the_job_at_once(
    engine: AsyncEngine, tmp_path: Path, video: bytes
) -> None:
    async with fake_postiz() as (fake, url), publishing_env(engine, tmp_path, (fake, url)) as env:
        user = await env.api.new_user()
        clips = await make_clips(env, user, video)
        wrong = await user.create_profile("Wrong", postizApiUrl=url, postizApiKey="not-the-key")

        listed = await user.gql(INTEGRATIONS, profile_id=wrong)
        expect(listed, "BAD_USER_INPUT")
        message = listed.errors[0]["message"]
        assert "Postiz rejected the API key (HTTP 401)" in message
        assert "not-the-key" not in message
        assert fake.api_key not in message
        assert fake.requests[-1].authorization == "not-the-key"

        # A key revoked between the mutation's check and the job: FAILED at once, no retry.
        fake.revoke_after = len(fake.requests) + 1
        x, linkedin = fake.channel("x")["id"], fake.channel("linkedin")["id"]
        job = await env.start(user, PUBLISH, publish_vars(clips, [x, linkedin]))
        run = await env.wait(user, job["id"])
        assert run.job["status"] == "FAILED"
        assert run.job["attempts"] == 1
        assert run.job["error"].startswith("Postiz rejected the API key (HTTP 401)")
        assert fake.api_key not in run.job["error"]
        assert len(fake.calls("POST", "/upload")) == 1
        assert fake.calls("POST", "/posts") == []
        rows = await publications(user, jobId=job["id"])
        assert len(rows) == 4
        assert {p["status"] for p in rows} == {"FAILED"}
        assert {p["error"] for p in rows} == {run.job["error"]}


async def test_429_waits_for_retry_after_then_goes_on(
    engine: AsyncEngine, tmp_path: Path, video: bytes
) -> None:
    async with fake_postiz() as (fake, url), publishing_env(engine, tmp_path, (fake, url)) as env:
        user = await env.api.new_user()
        clips = await make_clips(env, user, video, count=1)
        x = fake.channel("x")["id"]
        # A request does not hang on Postiz: a long wait asked is an error at once.
        fake.rate_limit("/integrations", "3600")
        before = await row_counts(env)
        refused = await user.gql(PUBLISH, publish_vars(clips, [x]))
        expect(refused, "INTERNAL_SERVER_ERROR")
        assert refused.errors[0]["message"] == (
            "Postiz is rate-limiting this key (asked to wait 3600 s)"
        )
        assert await row_counts(env) == before

        fake.rate_limit("/integrations", "0.2")  # a short one is waited for, in the request
        fake.rate_limit("/upload", "0.4")
        fake.rate_limit("/posts", "0.3")
        run = await env.run_job(user, PUBLISH, publish_vars(clips, [x]))
        assert run.job["attempts"] == 1  # waited inside the call, not a job retry
        _, waited, checked = fake.calls("GET", "/integrations")
        assert (waited.status, checked.status) == (429, 200)
        assert checked.at - waited.at >= 0.2

        for path, wait in (("/upload", 0.4), ("/posts", 0.3)):
            limited, accepted = fake.calls("POST", path)
            assert (limited.status, accepted.status) == (429, 200)
            assert accepted.at - limited.at >= wait
        (row,) = await publications(user, jobId=run.job["id"])
        assert row["status"] == "PUBLISHED"
        assert len(fake.posts) == 1


async def test_a_retried_job_does_not_post_or_upload_twice(
    engine: AsyncEngine, tmp_path: Path, video: bytes
) -> None:
    overrides = {"job_max_attempts": 1}
    async with (
        fake_postiz() as (fake, url),
        publishing_env(engine, tmp_path, (fake, url), **overrides) as env,
    ):
        user = await env.api.new_user()
        clips = await make_clips(env, user, video)
        channels = [fake.channel("x")["id"], fake.channel("linkedin")["id"]]
        fake.fail_post_calls = {2}  # clip 1 posts, clip 2's post answers 500 once

        job = await env.start(user, PUBLISH, publish_vars(clips, channels))
        failed = await env.wait(user, job["id"])
        assert failed.job["status"] == "FAILED"
        assert failed.job["error"].startswith("Postiz failed (HTTP 500)")
        rows = await publications(user, jobId=job["id"])
        status = {(p["clip"]["id"], p["status"]) for p in rows}
        assert status == {(clips[0]["id"], "PUBLISHED"), (clips[1]["id"], "FAILED")}
        assert len(fake.posts) == 2
        assert len(fake.uploads) == 2

        (await user.gql(RETRY, {"id": job["id"]})).ok()
        retried = await env.wait(user, job["id"])
        assert retried.job["status"] == "SUCCEEDED", retried.job
        assert retried.job["result"]["posted"] == 4

        # Clip 1 was not posted again; clip 2's upload was reused, its post made once.
        assert len(fake.calls("POST", "/posts")) == 3
        assert len(fake.uploads) == 2
        assert len(fake.calls("POST", "/upload")) == 2
        pairs = [(p.image_ids[0], p.integration_id) for p in fake.posts]
        assert len(pairs) == len(set(pairs)) == 4
        rows = await publications(user, jobId=job["id"])
        assert {p["status"] for p in rows} == {"PUBLISHED"}
        assert {p["postizPostId"] for p in rows} == {p.id for p in fake.posts}
        assert all(p["error"] is None for p in rows)


async def test_a_5xx_is_retried_by_the_worker_without_duplicates(
    engine: AsyncEngine, tmp_path: Path, video: bytes
) -> None:
    async with fake_postiz() as (fake, url), publishing_env(engine, tmp_path, (fake, url)) as env:
        user = await env.api.new_user()
        clips = await make_clips(env, user, video)
        fake.fail_post_calls = {2}
        run = await env.run_job(user, PUBLISH, publish_vars(clips, [fake.channel("x")["id"]]))
        assert run.job["attempts"] == 2
        assert len(fake.posts) == 2
        assert len(fake.uploads) == 2
        assert len({p.image_ids[0] for p in fake.posts}) == 2


async def test_a_clip_deleted_while_publishing_is_skipped(
    engine: AsyncEngine, tmp_path: Path, video: bytes
) -> None:
    async with fake_postiz() as (fake, url), publishing_env(engine, tmp_path, (fake, url)) as env:
        user = await env.api.new_user()
        clips = await make_clips(env, user, video)
        fake.rate_limit("/upload", "1.0")  # holds clip 1's upload while clip 2 goes away
        job = await env.start(user, PUBLISH, publish_vars(clips, [fake.channel("x")["id"]]))
        await eventually(lambda: len(fake.calls("POST", "/upload")) == 1)
        gone = uuid.UUID(clips[1]["id"])
        async with env.runtime.sessions.system_transaction() as session:
            await session.execute(delete(Clip).where(Clip.id == gone))

        run = await env.wait(user, job["id"])
        assert run.job["status"] == "SUCCEEDED", run.job
        assert run.job["result"] == {"posted": 1, "deleted_clips": [str(gone)]}
        assert len(fake.uploads) == 1
        assert len(fake.posts) == 1
        (row,) = await publications(user, jobId=job["id"])
        assert row["clip"]["id"] == clips[0]["id"]
        assert row["status"] == "PUBLISHED"


async def test_the_job_shows_progress(engine: AsyncEngine, tmp_path: Path, video: bytes) -> None:
    async with fake_postiz() as (fake, url), publishing_env(engine, tmp_path, (fake, url)) as env:
        user = await env.api.new_user()
        clips = await make_clips(env, user, video)
        fake.rate_limit("/posts", "0.5", "0.5")  # slow enough to watch the steps
        job = await env.start(user, PUBLISH, publish_vars(clips, [fake.channel("x")["id"]]))
        run = await env.wait(user, job["id"], every=0.05)
        assert run.job["status"] == "SUCCEEDED"
        seen = sorted({p for p in run.progress if 0 < p < 1})
        assert seen
        assert run.progress == sorted(run.progress)
        assert (await user.gql(JOB, {"id": job["id"]})).ok()["job"]["progress"] == 1.0


async def test_a_post_postiz_refuses_fails_its_rows_without_retrying(
    engine: AsyncEngine, tmp_path: Path, video: bytes
) -> None:
    async with fake_postiz() as (fake, url), publishing_env(engine, tmp_path, (fake, url)) as env:
        user = await env.api.new_user()
        clips = await make_clips(env, user, video)
        x = fake.channel("x")
        fake.rate_limit("/upload", "0.3")  # time to disable the channel after the check
        job = await env.start(user, PUBLISH, publish_vars(clips, [x["id"]]))
        x["disabled"] = True
        run = await env.wait(user, job["id"])
        assert run.job["status"] == "FAILED"
        assert run.job["attempts"] == 1
        assert run.job["error"] == (
            "Postiz refused 2 of 2 clip post(s): Postiz refused the request (HTTP 400): "
            f"Integration {x['id']} is disabled"
        )
        rows = await publications(user, jobId=job["id"])
        assert {p["status"] for p in rows} == {"FAILED"}
        assert {p["error"] for p in rows} == {
            f"Postiz refused the request (HTTP 400): Integration {x['id']} is disabled"
        }
        assert fake.posts == []
        assert len(fake.calls("POST", "/posts")) == 2  # each clip tried once


async def test_postiz_fields_beside_other_fields_of_one_operation(
    engine: AsyncEngine, tmp_path: Path, video: bytes
) -> None:
    """The Postiz call ends the read transaction first: rows that sibling fields loaded
    stay usable (not expired), in a query and in a mutation."""
    async with fake_postiz() as (fake, url), publishing_env(engine, tmp_path, (fake, url)) as env:
        user = await env.api.new_user()
        (clip,) = await make_clips(env, user, video, count=1)
        query = """
        query($id: ID!) {
          clip(id: $id) { id downloadUrl project { id name } publications { id } }
          postizIntegrations { id }
          later: clip(id: $id) { id downloadUrl aspect }
        }
        """
        data = (await user.gql(query, {"id": clip["id"]})).ok()
        assert data["clip"]["downloadUrl"] == data["later"]["downloadUrl"]
        assert len(data["postizIntegrations"]) == 3

        x = fake.channel("x")["id"]
        mutation = """
        mutation($ids: [ID!]!, $integrationIds: [String!]!) {
          first: publishClips(clipIds: $ids, integrationIds: $integrationIds,
                              content: "one", mode: DRAFT) { id kind project { id } }
          second: publishClips(clipIds: $ids, integrationIds: $integrationIds,
                               content: "two", mode: DRAFT) { id kind project { id } }
        }
        """
        both = (await user.gql(mutation, {"ids": [clip["id"]], "integrationIds": [x]})).ok()
        assert both["first"]["id"] != both["second"]["id"]
        assert both["first"]["project"] == both["second"]["project"]
        for job in both.values():
            run = await env.wait(user, job["id"])
            assert run.job["status"] == "SUCCEEDED", run.job
        assert sorted(p.content for p in fake.posts) == ["one", "two"]


async def test_a_stored_key_http_cannot_carry_is_a_readable_error(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """A key stored before keys were checked on input (non-ASCII): the call that would
    send it answers what to do, not INTERNAL_SERVER_ERROR."""
    async with fake_postiz() as (fake, url), publishing_env(engine, tmp_path, (fake, url)) as env:
        user = await env.api.new_user()
        branded = await user.create_profile("Old key", postizApiUrl=url, postizApiKey="old-key")
        async with env.runtime.sessions.system_transaction() as session:
            profile = await session.get(Profile, uuid.UUID(branded))
            assert profile is not None
            profile.postiz_api_key_encrypted = encrypt_secret(
                env.settings.secret_key.get_secret_value(), "clé-ancienne"
            )
        listed = await user.gql(INTEGRATIONS, profile_id=branded)
        expect(listed, "BAD_USER_INPUT")
        assert "HTTP cannot carry: set it again" in listed.errors[0]["message"]
        assert "clé" not in listed.errors[0]["message"]
