"""A running app (embedded worker included) with an HTTP client on it: the environment the
media, pipeline and S3 tests build on. Each of those folders adds its own helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from editai.media.storage import LocalStore, MediaStorage
from editai.runtime import Runtime
from editai.settings import Settings
from tests.api import Api
from tests.conftest import running_app
from tests.filesystem import files_under


@dataclass
class AppEnv:
    app: Starlette
    client: httpx.AsyncClient
    api: Api
    settings: Settings

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    @property
    def storage(self) -> MediaStorage:
        return self.runtime.storage

    @property
    def local(self) -> LocalStore:
        """The filesystem backend these tests run on (its paths, its signed URLs)."""
        store = self.runtime.storage.local
        assert store is not None
        return store

    def media_files(self) -> list[Path]:
        return files_under(self.settings.media_dir)


E = TypeVar("E", bound=AppEnv)


@asynccontextmanager
async def serving(settings: Settings, engine: AsyncEngine, env_type: type[E]) -> AsyncIterator[E]:
    """The app for ``settings`` on ``engine``, as ``env_type``, with a client on it."""
    async with running_app(settings, engine) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield env_type(app, client, Api(client, settings), settings)
