"""Fixtures for the tests against a real S3-compatible server (SeaweedFS).

One ``weed mini`` for the session; every test gets its own bucket, so "nothing left
behind" is checked by listing that bucket. Tests that take the store down start their
own server (``own_store``). With CI=true a store that does not start fails the run.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.app_env import serving
from tests.conftest import make_settings
from tests.databases import in_ci
from tests.pipeline.conftest import Env, videos
from tests.s3.client import sync_client
from tests.s3.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedS3, StoreDidNotStart

__all__ = ["videos"]  # the pipeline's generated videos, shared with these tests


def started_store(folder: Path) -> SeaweedS3:
    store = SeaweedS3(folder)
    try:
        store.start()
    except StoreDidNotStart as exc:
        message = f"SeaweedFS did not start: {exc}"
        if in_ci():
            pytest.fail(message + " (CI=true: the S3 store is required)", pytrace=False)
        pytest.skip(message)
    return store


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    store = started_store(tmp_path_factory.mktemp("seaweed"))
    try:
        yield store
    finally:
        store.stop()


@pytest.fixture
def own_store(tmp_path: Path) -> Iterator[SeaweedS3]:
    """A server of the test's own, which it may stop and start."""
    store = started_store(tmp_path / "seaweed")
    try:
        yield store
    finally:
        store.stop()


def new_bucket(store: SeaweedS3) -> str:
    bucket = f"editai-{uuid.uuid4().hex[:16]}"
    sync_client(store.endpoint).create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def bucket(seaweed: SeaweedS3) -> str:
    return new_bucket(seaweed)


@pytest.fixture
def s3(seaweed: SeaweedS3) -> Any:
    return sync_client(seaweed.endpoint)


def s3_settings(store: SeaweedS3, bucket: str, **overrides: object) -> dict[str, object]:
    return {
        "storage": "s3",
        "s3_bucket": bucket,
        "s3_endpoint_url": store.endpoint,
        "s3_region": "us-east-1",
        "s3_access_key_id": ACCESS_KEY,
        "s3_secret_access_key": SECRET_KEY,
        "s3_addressing_style": "path",
        "s3_max_attempts": 2,
        "s3_connect_timeout_seconds": 2.0,
        **overrides,
    }


@asynccontextmanager
async def open_s3_env(
    engine: AsyncEngine, tmp_path: Path, store: SeaweedS3, bucket: str, **overrides: object
) -> AsyncIterator[Env]:
    """An app with the embedded worker, its media in ``bucket``."""
    url = engine.url.render_as_string(hide_password=False)
    values = {"worker_poll_seconds": 0.5, **s3_settings(store, bucket), **overrides}
    settings = make_settings(tmp_path / "app", url, **values)
    async with serving(settings, engine, Env) as env:
        yield env


@pytest.fixture
async def s3_env(
    engine: AsyncEngine, tmp_path: Path, seaweed: SeaweedS3, bucket: str
) -> AsyncIterator[Env]:
    async with open_s3_env(engine, tmp_path, seaweed, bucket) as opened:
        yield opened
