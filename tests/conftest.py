"""Fixtures: real PostgreSQL (a database per run) and SQLite, the app, an HTTP client.

Most API tests run on both backends (``backend`` is parametrized); PostgreSQL-only
tests (row-level security, concurrency) request ``pg_engine`` directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from editai.app import create_app
from editai.db import migrate
from editai.db.engine import create_engine
from editai.db.tenancy import SessionFactory
from editai.media.binaries import Binaries, find_binaries
from editai.settings import Environment, Settings
from tests.api import Api
from tests.databases import create_postgres_database, drop_postgres_database

TEST_JWT_SECRET = "test-jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
TEST_SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def make_settings(tmp: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": Environment.test,
        "data_dir": tmp,
        "media_root": tmp / "media",
        "database_url": database_url,
        "jwt_secret": SecretStr(TEST_JWT_SECRET),
        "secret_key": SecretStr(TEST_SECRET_KEY),
        "auto_migrate": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def binaries() -> Binaries:
    """FFmpeg and ffprobe (the system's, else the bundled static build)."""
    return find_binaries()


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("run")


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@asynccontextmanager
async def migrated_engine(run_dir: Path, url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on ``url`` with the migrations applied, disposed afterwards."""
    engine = create_engine(make_settings(run_dir, url), url)
    await migrate.upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def pg_engine(pg_url: str, run_dir: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_engine(run_dir, pg_url) as engine:
        yield engine


@pytest.fixture(scope="session")
async def sqlite_engine(run_dir: Path) -> AsyncIterator[AsyncEngine]:
    async with migrated_engine(
        run_dir, f"sqlite+aiosqlite:///{run_dir / 'editai-test.db'}"
    ) as engine:
        yield engine


@pytest.fixture(params=["postgres", "sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest) -> AsyncEngine:
    fixture = "pg_engine" if backend == "postgres" else "sqlite_engine"
    return request.getfixturevalue(fixture)  # type: ignore[no-any-return]


@pytest.fixture
def settings(engine: AsyncEngine, run_dir: Path) -> Settings:
    return make_settings(run_dir, engine.url.render_as_string(hide_password=False))


@pytest.fixture
def sessions(engine: AsyncEngine, settings: Settings) -> SessionFactory:
    return SessionFactory(engine, settings.db_tenant_role)


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Starlette]:
    application = create_app(settings, engine=engine)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def api(client: httpx.AsyncClient, settings: Settings) -> Api:
    return Api(client, settings)
