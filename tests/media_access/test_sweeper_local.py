"""The orphan sweeper on local storage: files no row names go once older than the
grace period (the S3 side is tests/s3/test_sweeper.py)."""

from __future__ import annotations

import time
import uuid

from editai.media.sweeper import sweep_orphans
from tests.media_access.conftest import Env, Samples


async def test_local_sweeper_removes_old_unnamed_files(env: Env, samples: Samples) -> None:
    user = await env.api.new_user()
    project = await user.create_project("Sweep")
    (await env.upload(user, project, samples.video)).ok()
    [source] = env.media_files()
    profile = user.default_profile_id
    orphans = [
        env.local.resolve(f"{profile}/{project}/clips/{uuid.uuid4()}.mp4"),
        env.local.resolve(f"{profile}/{project}/.upload-{uuid.uuid4().hex}.part"),  # a crash
        env.local.resolve(f"{uuid.uuid4()}/{uuid.uuid4()}/exports/x.mp4"),
    ]
    for path in orphans:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"orphan")

    young = await sweep_orphans(env.runtime, grace_seconds=3600)
    assert young.removed == []
    swept = await sweep_orphans(env.runtime, grace_seconds=3600, now=time.time() + 7200)
    assert sorted(swept.removed) == sorted(env.local.relative(p) for p in orphans)
    assert env.media_files() == [source]
