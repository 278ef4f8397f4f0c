"""The whole pipeline with media in S3 (a real SeaweedFS), through GraphQL with the
embedded worker, on PostgreSQL and SQLite: upload -> segments -> clips -> voice-over ->
export -> publish (fake Postiz) -> download with Range -> delete a clip -> delete the
project. At each step the bucket holds exactly the objects the rows name, and nothing is
left in the temp dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.media.binaries import Binaries
from tests.media import measure
from tests.pipeline.conftest import EXPORT, EXTRACT, GENERATE, Env
from tests.pipeline.test_delete_clip import DELETE_CLIP
from tests.publishing.conftest import PUBLISH, fake_postiz, publications, publish_vars
from tests.s3.client import fetch, keys_in, open_uploads
from tests.s3.conftest import open_s3_env
from tests.s3.seaweed import SeaweedS3
from tests.tts.conftest import DELETE_PROJECT, SYNTHESIZE

pytestmark = pytest.mark.timeout(240)
SOURCE = "query($p: ID!) { project(id: $p) { sourceVideo { sizeBytes downloadUrl } } }"
VOICE_TEXT = "Three short clips from one long video."


def assert_presigned(url: str, seaweed: SeaweedS3, bucket: str) -> None:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == seaweed.endpoint
    assert parts.path.startswith(f"/{bucket}/")
    assert "X-Amz-Signature=" in parts.query
    assert "X-Amz-Expires=3600" in parts.query


async def test_pipeline_on_s3(
    engine: AsyncEngine,
    tmp_path: Path,
    seaweed: SeaweedS3,
    bucket: str,
    s3: Any,
    videos: dict[str, bytes],
    binaries: Binaries,
) -> None:
    async with fake_postiz() as (postiz, postiz_url):
        overrides = {
            "postiz_api_url": postiz_url,
            "postiz_api_key": SecretStr(postiz.api_key),
            "job_retry_base_seconds": 0.05,
        }
        async with open_s3_env(engine, tmp_path, seaweed, bucket, **overrides) as env:
            await run_pipeline(env, seaweed, bucket, s3, videos, binaries, postiz)


async def run_pipeline(
    env: Env,
    seaweed: SeaweedS3,
    bucket: str,
    s3: Any,
    videos: dict[str, bytes],
    binaries: Binaries,
    postiz: Any,
) -> None:
    user = await env.api.new_user()
    profile = user.default_profile_id
    assert env.runtime.storage.local is None
    video = videos["pipeline"]
    project = await env.project_with_video(user, video)

    # --- upload: one object, the bytes sent, under the project's prefix -----------------
    [source_key] = keys_in(s3, bucket)
    assert source_key.startswith(f"{profile}/{project}/source-")
    assert s3.get_object(Bucket=bucket, Key=source_key)["Body"].read() == video
    assert open_uploads(s3, bucket) == []
    source = (await user.gql(SOURCE, {"p": project})).ok()["project"]["sourceVideo"]
    assert source["sizeBytes"] == len(video)
    assert_presigned(source["downloadUrl"], seaweed, bucket)

    # --- jobs read from S3 and write to S3 ---------------------------------------------
    await env.run_job(user, EXTRACT, {"p": project})
    generate = {"variantCount": 2, "clipSeconds": 3, "aspect": "R9_16", "accurate": True}
    await env.run_job(user, GENERATE, {"p": project, "input": generate})
    clips = await env.clips(user, project)
    assert len(clips) == 2
    clip_keys = sorted(k for k in keys_in(s3, bucket) if "/clips/" in k)
    assert clip_keys == sorted(f"{profile}/{project}/clips/{c['id']}.mp4" for c in clips)

    voiced = await env.run_job(user, SYNTHESIZE, {"p": project, "text": VOICE_TEXT})
    voiceover_id = voiced.job["result"]["voiceover_id"]
    assert f"{profile}/{project}/audio/{voiceover_id}.m4a" in keys_in(s3, bucket)

    clip = min(clips, key=lambda c: c["startSeconds"])
    export_input = {"height": 240, "voiceoverId": voiceover_id, "voiceoverStartSeconds": 0.5}
    exported = await env.run_job(user, EXPORT, {"ids": [clip["id"]], "input": export_input})
    export_key = f"{profile}/{project}/exports/{clip['id']}-{exported.job['id']}.mp4"
    assert export_key in keys_in(s3, bucket)

    # --- download with Range, straight from the store -----------------------------------
    [after] = [c for c in await env.clips(user, project) if c["id"] == clip["id"]]
    assert after["status"] == "EXPORTED"
    url = after["downloadUrl"]
    assert_presigned(url, seaweed, bucket)
    assert export_key in urlsplit(url).path
    whole = await fetch(url)
    assert whole.status_code == 200
    assert whole.headers["content-disposition"].startswith("inline; filename=")
    assert whole.content == s3.get_object(Bucket=bucket, Key=export_key)["Body"].read()
    ranged = await fetch(url, Range="bytes=0-1023")
    assert (ranged.status_code, ranged.content) == (206, whole.content[:1024])
    downloaded = env.settings.data_dir / "export.mp4"
    downloaded.write_bytes(whole.content)
    fmt, streams = await measure.streams(binaries, downloaded)
    assert [s["codec_type"] for s in streams] == ["video", "audio"]
    assert abs(float(fmt["duration"]) - clip["durationSeconds"]) <= 0.1

    # --- publish: the worker fetches the clip from S3 and uploads it to Postiz -----------
    x = postiz.channel("x")
    await env.run_job(user, PUBLISH, publish_vars([after], [x["id"]]))
    [published] = await publications(user)
    assert published["status"] == "PUBLISHED"
    [sent] = postiz.uploads.values()
    assert sent.data == whole.content  # the exported file, byte for byte

    # --- nothing in the temp dir; the bucket holds exactly what the rows name ------------
    assert env.temp_files() == []
    named = {source_key, *clip_keys, export_key, f"{profile}/{project}/audio/{voiceover_id}.m4a"}
    assert set(keys_in(s3, bucket)) == named
    assert env.media_files() == []  # nothing on the local disk

    # --- delete the exported, published clip: its objects go, its sibling's stay ---------
    deleted = await user.gql(DELETE_CLIP, {"id": clip["id"]})
    assert deleted.ok()["deleteClip"] == clip["id"]
    named -= {f"{profile}/{project}/clips/{clip['id']}.mp4", export_key}
    assert set(keys_in(s3, bucket)) == named
    assert [c["id"] for c in await env.clips(user, project)] == [
        c["id"] for c in clips if c["id"] != clip["id"]
    ]
    assert await publications(user) == []
    assert (await fetch(url)).status_code == 404

    # --- delete: every object of the project goes; its URLs stop working ----------------
    assert (await user.gql(DELETE_PROJECT, {"id": project})).ok()["deleteProject"] == project
    assert keys_in(s3, bucket) == []
    assert open_uploads(s3, bucket) == []
    assert (await fetch(url)).status_code == 404
