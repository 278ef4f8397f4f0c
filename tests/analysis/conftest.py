"""Video analysis through the API, with a fake Gemini on 127.0.0.1.

``gemini`` is the fake's state (program it, inspect what it received); ``gemini_env``
opens an app (embedded worker) whose Gemini base URL points at the fake, with fast
polling; tests pass their own key settings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.media.binaries import Binaries
from tests.fakes.gemini import FakeGemini
from tests.fakes.server import RunningServer, serve_app
from tests.pipeline.conftest import Env, open_env
from tests.pipeline.videos import make_pipeline_video

GLOBAL_KEY = "global-gemini-key-0123456789abcdef"
PROFILE_KEY = "profile-gemini-key-fedcba9876543210"

OpenEnv = Callable[..., AbstractAsyncContextManager[Env]]


@pytest.fixture(scope="session")
async def pipeline_video(binaries: Binaries, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """16 s, 640x360: four scenes (changes at 4, 8, 12 s), silences at 3-6 s, 10-12.5 s."""
    path = await make_pipeline_video(binaries, tmp_path_factory.mktemp("analysis-video"))
    return path.read_bytes()


@pytest.fixture
def gemini() -> FakeGemini:
    return FakeGemini({GLOBAL_KEY, PROFILE_KEY})


@pytest.fixture
async def gemini_server(gemini: FakeGemini) -> AsyncIterator[RunningServer]:
    async with serve_app(gemini.app) as server:
        yield server


@pytest.fixture
def gemini_env(engine: AsyncEngine, tmp_path: Path, gemini_server: RunningServer) -> OpenEnv:
    """``async with gemini_env(gemini_api_key=...)``: an app talking to the fake."""

    def opener(**overrides: object) -> AbstractAsyncContextManager[Env]:
        key = overrides.pop("gemini_api_key", GLOBAL_KEY)
        settings: dict[str, object] = {
            "gemini_base_url": gemini_server.url,
            "gemini_api_key": SecretStr(key) if isinstance(key, str) else key,
            "gemini_file_poll_seconds": 0.02,
            "gemini_file_wait_seconds": 5.0,
            "job_retry_base_seconds": 0.1,
            "provider_timeout_seconds": 10.0,
            **overrides,
        }
        return open_env(engine, tmp_path, **settings)

    return opener
