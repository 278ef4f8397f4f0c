"""The orphan sweeper on S3: objects no row names go once older than the grace period;
named objects, young objects and stale multipart uploads are handled as documented,
uploads' staging objects and multipart uploads (``uploads/``) included."""

from __future__ import annotations

import time
import uuid
from typing import Any

from editai.media.storage.s3_upload import STAGING_FOLDER
from editai.media.sweeper import sweep_orphans
from tests.pipeline.conftest import Env
from tests.s3.client import keys_in, open_uploads


async def test_sweeper_removes_only_old_unnamed_objects(
    s3_env: Env, s3: Any, bucket: str, videos: dict[str, bytes]
) -> None:
    env = s3_env
    user = await env.api.new_user()
    profile = user.default_profile_id
    project = await env.project_with_video(user, videos["pipeline"])
    [source] = keys_in(s3, bucket)
    orphans = [
        f"{profile}/{project}/clips/{uuid.uuid4()}.mp4",  # stored, never committed
        f"{profile}/{uuid.uuid4()}/exports/x.mp4",  # a deleted project's leftover
        f"{uuid.uuid4()}/{uuid.uuid4()}/source-y.mp4",  # a deleted profile's leftover
        f"{STAGING_FOLDER}{uuid.uuid4().hex}",  # an upload's staging object, never moved
    ]
    for key in orphans:
        s3.put_object(Bucket=bucket, Key=key, Body=b"orphan")
    stale = s3.create_multipart_upload(Bucket=bucket, Key=f"{profile}/{project}/source-z.mp4")
    # An upload that streamed into the store from a server that died mid-body.
    staging = s3.create_multipart_upload(Bucket=bucket, Key=f"{STAGING_FOLDER}{uuid.uuid4().hex}")

    # Young: nothing is touched (a running job's outputs look exactly like this).
    young = await sweep_orphans(env.runtime, grace_seconds=3600)
    assert (young.removed, young.aborted_uploads) == ([], 0)
    assert keys_in(s3, bucket) == sorted([source, *orphans])
    assert open_uploads(s3, bucket) == sorted([stale["Key"], staging["Key"]])

    later = time.time() + 7200  # the same objects, two hours on
    swept = await sweep_orphans(env.runtime, grace_seconds=3600, now=later)
    assert sorted(swept.removed) == sorted(orphans)
    assert swept.scanned == 5
    assert swept.aborted_uploads == 2
    assert keys_in(s3, bucket) == [source]  # the row's object stays
    assert open_uploads(s3, bucket) == []
    source_url = (
        await user.gql(
            "query($p: ID!) { project(id: $p) { sourceVideo { downloadUrl } } }", {"p": project}
        )
    ).ok()["project"]["sourceVideo"]["downloadUrl"]
    assert source in source_url
