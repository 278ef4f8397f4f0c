"""Publishing tests: an app with the embedded worker, pointed at fake Postiz servers on
127.0.0.1, and real clips cut by FFmpeg from a small generated video."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.jobs.models import Job
from editai.media.binaries import Binaries
from editai.publishing.models import Publication
from tests.api import TestUser
from tests.fakes.postiz import FakePostiz
from tests.fakes.server import RunningServer, serve_app
from tests.media.videos import QUIET_TONE, make_video
from tests.pipeline.conftest import GENERATE, Env, open_env

PUBLISH = """
mutation($clipIds: [ID!]!, $integrationIds: [String!]!, $content: String!,
         $mode: PublishMode!, $date: DateTime) {
  publishClips(clipIds: $clipIds, integrationIds: $integrationIds, content: $content,
               mode: $mode, date: $date) { id kind status attempts error }
}
"""
INTEGRATIONS = "{ postizIntegrations { id name provider picture disabled } }"
PUBLICATION_FIELDS = """
id jobId integrationId integrationProvider mode status content postizPostId scheduledAt
error createdAt clip { id }
"""
PUBLICATIONS = f"""
query($jobId: ID, $clipId: ID, $status: PublicationStatus) {{
  publications(first: 100, jobId: $jobId, clipId: $clipId, status: $status) {{
    edges {{ node {{ {PUBLICATION_FIELDS} }} }}
  }}
}}
"""
RETRY = "mutation($id: ID!) { retryJob(id: $id) { id status } }"


@pytest.fixture(scope="session")
async def video(binaries: Binaries, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """6 s, 320x180, testsrc2 with a tone: cut into 2 s clips by stream copy (fast)."""
    path = await make_video(binaries, QUIET_TONE, tmp_path_factory.mktemp("publishing-video"))
    return path.read_bytes()


@asynccontextmanager
async def fake_postiz(prefix: str = "/public/v1") -> AsyncIterator[tuple[FakePostiz, str]]:
    """A fake Postiz and its API base URL (what a user configures)."""
    fake = FakePostiz(prefix=prefix)
    async with serve_app(fake.app()) as server:
        yield fake, base_url(server, prefix)


def base_url(server: RunningServer, prefix: str) -> str:
    return server.url + prefix


@asynccontextmanager
async def publishing_env(
    engine: AsyncEngine, tmp_path: Path, fake: tuple[FakePostiz, str] | None, **overrides: Any
) -> AsyncIterator[Env]:
    """An app whose global Postiz settings point at ``fake`` (none when it is None)."""
    settings: dict[str, Any] = {"job_retry_base_seconds": 0.05, **overrides}
    if fake is not None:
        settings.update(postiz_api_url=fake[1], postiz_api_key=SecretStr(fake[0].api_key))
    async with open_env(engine, tmp_path, **settings) as env:
        yield env


async def make_clips(
    env: Env, user: TestUser, video: bytes, count: int = 2, profile_id: str | None = None
) -> list[dict[str, Any]]:
    project = await env.project_with_video(user, video, profile_id=profile_id)
    variables = {"p": project, "input": {"variantCount": count, "clipSeconds": 2.0}}
    await env.run_job(user, GENERATE, variables, profile_id=profile_id)
    clips = await env.clips(user, project, profile_id=profile_id)
    assert len(clips) == count
    return sorted(clips, key=lambda c: c["variantIndex"])


def publish_vars(
    clips: list[dict[str, Any]],
    integrations: list[str],
    mode: str = "NOW",
    content: str = "New clip out now",
    date: str | None = None,
) -> dict[str, Any]:
    return {
        "clipIds": [c["id"] for c in clips],
        "integrationIds": integrations,
        "content": content,
        "mode": mode,
        "date": date,
    }


async def publications(
    user: TestUser, profile_id: str | None = None, **filters: str | None
) -> list[dict[str, Any]]:
    result = await user.gql(PUBLICATIONS, filters, profile_id=profile_id)
    return [edge["node"] for edge in result.ok()["publications"]["edges"]]


async def row_counts(env: Env) -> tuple[int, int]:
    """(jobs, publications) in the whole database."""
    async with env.runtime.sessions.system() as session:
        jobs = await session.scalar(select(func.count()).select_from(Job))
        rows = await session.scalar(select(func.count()).select_from(Publication))
    return int(jobs or 0), int(rows or 0)


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def own_id() -> str:
    return str(uuid.uuid4())
