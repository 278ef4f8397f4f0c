"""Uploads into S3: refused uploads (not a video, too large) leave no object, no
incomplete multipart upload and no staging file; a replaced source's object goes; the
URL of one profile's video names that profile's key only."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.pipeline.conftest import UPLOAD
from tests.s3.client import keys_in, open_uploads
from tests.s3.conftest import open_s3_env
from tests.s3.seaweed import SeaweedS3

SOURCE_URL = "query($p: ID!) { project(id: $p) { sourceVideo { downloadUrl } } }"


async def test_refused_uploads_leave_nothing_in_the_bucket(
    engine: AsyncEngine,
    tmp_path: Any,
    seaweed: SeaweedS3,
    bucket: str,
    s3: Any,
    videos: dict[str, bytes],
) -> None:
    video = videos["pipeline"]
    small_cap = {"max_upload_bytes": len(video) - 1}
    async with open_s3_env(engine, tmp_path, seaweed, bucket, **small_cap) as env:
        user = await env.api.new_user()
        project = await user.create_project("Refused")
        cases = {"not-a-video.mp4": b"\x00" * 50_000, "too-large.mp4": video}
        for name, content in cases.items():
            result = await user.upload(UPLOAD, {"projectId": project}, {"file": (name, content)})
            assert result.codes == ["BAD_USER_INPUT"], (name, result)
        assert keys_in(s3, bucket) == []
        assert open_uploads(s3, bucket) == []
        assert env.temp_files() == []
        shown = (await user.gql(SOURCE_URL, {"p": project})).ok()["project"]["sourceVideo"]
        assert shown is None


async def test_replacing_and_tenant_safe_urls(
    engine: AsyncEngine,
    tmp_path: Any,
    seaweed: SeaweedS3,
    bucket: str,
    s3: Any,
    videos: dict[str, bytes],
) -> None:
    async with open_s3_env(engine, tmp_path, seaweed, bucket) as env:
        owner, other = await env.api.new_user(), await env.api.new_user()
        project = await env.project_with_video(owner, videos["pipeline"])
        [first] = keys_in(s3, bucket)
        await env.project_with_video(other, videos["pipeline"])  # another profile's
        replaced = await owner.upload(
            UPLOAD, {"projectId": project}, {"file": ("again.mp4", videos["pipeline"])}
        )
        replaced.ok()
        mine = [k for k in keys_in(s3, bucket) if k.startswith(owner.default_profile_id)]
        assert len(mine) == 1
        assert mine != [first]  # a new key; the replaced object is gone
        url = (await owner.gql(SOURCE_URL, {"p": project})).ok()["project"]["sourceVideo"]
        path = unquote(urlsplit(url["downloadUrl"]).path)
        assert path == f"/{bucket}/{mine[0]}"
        # The other profile cannot reach the project, so gets no URL for it.
        foreign = await other.gql(SOURCE_URL, {"p": project})
        assert foreign.codes == ["NOT_FOUND"]
