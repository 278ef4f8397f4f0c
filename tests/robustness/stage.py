"""A server ready to be attacked: ``editai serve`` on a database, a fake Postiz, users,
profiles and projects, and (for the fuzz) a real video with clips. Shared by the
fixtures (tests/robustness/conftest.py) and the bench scripts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.fakes.postiz import FakePostiz
from tests.fakes.server import serve_app
from tests.robustness.seed import World, add_video_and_clips, seed_world, small_video
from tests.robustness.server import RunningServer, running_server


@dataclass
class Stage:
    server: RunningServer
    world: World
    # The video uploaded for the clips (b"" without media): the fuzz uploads it again.
    video: bytes


@asynccontextmanager
async def staged_server(
    backend: str,
    tmp: Path,
    database_url: str | None,
    *,
    users: int,
    profiles_per_user: int,
    projects_per_profile: int,
    media: bool,
) -> AsyncIterator[Stage]:
    """With ``media``, the first user's second profile gets a video and clips cut from it
    (a real job), so that clip ids and a project with a source exist."""
    postiz = FakePostiz()
    async with serve_app(postiz.app()) as fake:
        env = {"EDITAI_POSTIZ_API_URL": fake.url, "EDITAI_POSTIZ_API_KEY": postiz.api_key}
        async with running_server(backend, tmp, database_url, env) as server:
            video = b""
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
                world = await seed_world(
                    client,
                    server.settings,
                    users=users,
                    profiles_per_user=profiles_per_user,
                    projects_per_profile=projects_per_profile,
                )
                if media:
                    video = await small_video(tmp)
                    await add_video_and_clips(client, world.tenants[1], video)
            yield Stage(server, world, video)
