"""Bad cases with media in S3: wrong credentials at start-up, the store going down
during a job and during an upload. Each leaves a readable error and nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.media.storage import StorageConfigError
from tests.conftest import make_settings, running_app
from tests.pipeline.conftest import GENERATE, UPLOAD
from tests.s3.client import keys_in, open_uploads, sync_client
from tests.s3.conftest import new_bucket, open_s3_env, s3_settings
from tests.s3.seaweed import SeaweedS3

EDITAI = Path(sys.executable).parent / "editai"
STORE_FAILED = "The media store failed while"


async def test_wrong_credentials_stop_the_server_from_starting(
    engine: AsyncEngine, tmp_path: Path, seaweed: SeaweedS3, bucket: str
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    values = s3_settings(seaweed, bucket, s3_secret_access_key="wrong-secret")
    settings = make_settings(tmp_path / "app", url, **values)
    with pytest.raises(StorageConfigError, match=r"access to bucket .* was refused"):
        async with running_app(settings, engine):
            raise AssertionError("the server started with wrong S3 credentials")


def test_wrong_credentials_stop_a_worker_process(
    tmp_path: Path, seaweed: SeaweedS3, bucket: str
) -> None:
    env = {
        **os.environ,
        "EDITAI_ENV": "test",
        "EDITAI_DATA_DIR": str(tmp_path),
        "EDITAI_STORAGE": "s3",
        "EDITAI_S3_BUCKET": bucket,
        "EDITAI_S3_ENDPOINT_URL": seaweed.endpoint,
        "EDITAI_S3_ACCESS_KEY_ID": "nobody",
        "EDITAI_S3_SECRET_ACCESS_KEY": "wrong-secret",
        "EDITAI_S3_ADDRESSING_STYLE": "path",
    }
    done = subprocess.run(  # the CLI as an operator runs it
        [str(EDITAI), "worker"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done
    assert "error: S3 storage: access to bucket" in done.stderr
    assert "EDITAI_S3_ACCESS_KEY_ID" in done.stderr
    assert "Traceback" not in done.stderr


async def test_store_down_during_a_job_retries_then_fails_readably(
    engine: AsyncEngine, tmp_path: Path, own_store: SeaweedS3, videos: dict[str, bytes]
) -> None:
    bucket = new_bucket(own_store)
    overrides = {"job_retry_base_seconds": 0.05, "job_max_attempts": 3}
    async with open_s3_env(engine, tmp_path, own_store, bucket, **overrides) as env:
        user = await env.api.new_user()
        project = await env.project_with_video(user, videos["pipeline"])
        own_store.stop()
        job = await env.start(
            user, GENERATE, {"p": project, "input": {"variantCount": 1, "clipSeconds": 3}}
        )
        run = await env.wait(user, job["id"], within=120)
        assert run.job["status"] == "FAILED"
        assert run.job["attempts"] == 3  # retried, then given up
        assert run.job["error"].startswith(f"{STORE_FAILED} reading a file: it could not be")
        assert env.temp_files() == []
        assert await env.clips(user, project) == []


async def test_store_down_during_an_upload_leaves_nothing(
    engine: AsyncEngine, tmp_path: Path, own_store: SeaweedS3, videos: dict[str, bytes]
) -> None:
    bucket = new_bucket(own_store)
    async with open_s3_env(engine, tmp_path, own_store, bucket) as env:
        user = await env.api.new_user()
        project = await user.create_project("Down")
        own_store.stop()
        result = await user.upload(
            UPLOAD, {"projectId": project}, {"file": ("down.mp4", videos["pipeline"])}
        )
        assert result.codes == ["INTERNAL_SERVER_ERROR"], result
        message = result.errors[0]["message"]
        assert message.startswith(f"The video could not be stored: {STORE_FAILED} storing"), message
        assert result.errors[0]["extensions"]["retryable"] is True
        shown = await user.gql(
            "query($p: ID!) { project(id: $p) { sourceVideo { sizeBytes } } }", {"p": project}
        )
        assert shown.ok()["project"]["sourceVideo"] is None
        assert env.temp_files() == []
        assert env.media_files() == []
    own_store.start()  # same ports and data: what the store holds now
    client: Any = sync_client(own_store.endpoint)
    assert keys_in(client, bucket) == []
    assert open_uploads(client, bucket) == []
