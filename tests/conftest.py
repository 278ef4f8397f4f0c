"""Fixtures: real PostgreSQL and SQLite, the app, an HTTP client.

Most API tests run on both backends (``backend`` is parametrized); PostgreSQL-only
tests (row-level security, concurrency) request ``pg_engine`` directly.

Isolation, by construction: every test gets a database of its own (a copy of one
migrated per run, see tests/databases.py) and a data dir of its own (``run_dir``: media
root, temp root). An embedded worker can therefore only ever see, claim, recover or
sweep the jobs and files of its own test, and a LISTEN connection only hears its own
test's NOTIFYs. An app is torn down only once its worker has stopped and none of its
processes runs on (``running_app``).
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
from tests.databases import (
    RecycledDatabases,
    copy_sqlite_database,
    create_postgres_database,
    drop_postgres_database,
    sqlite_url,
)
from tests.processes import live_processes_under

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


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """The test's own data dir (media root, temp root, keys): never another test's."""
    path = tmp_path / "run"
    path.mkdir()
    return path


@asynccontextmanager
async def migrated_engine(data_dir: Path, url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on ``url`` with the migrations applied, disposed afterwards."""
    engine = create_engine(make_settings(data_dir, url), url)
    await migrate.upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def pg_template(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A PostgreSQL database migrated once per run; tests get copies, never this one."""
    url = await create_postgres_database("editai_template")
    try:
        async with migrated_engine(tmp_path_factory.mktemp("pg-template"), url):
            pass  # closed again: PostgreSQL copies only a database nobody is connected to
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per run; tests get copies of it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    async with migrated_engine(path.parent, sqlite_url(path)):
        pass
    return path


@pytest.fixture(scope="session")
async def pg_databases(pg_template: str) -> AsyncIterator[RecycledDatabases]:
    """Copies of the template, recycled between tests (tests/databases.py)."""
    databases = RecycledDatabases(pg_template)
    try:
        yield databases
    finally:
        await databases.close()


@pytest.fixture
async def pg_url(pg_databases: RecycledDatabases) -> AsyncIterator[str]:
    """The test's own PostgreSQL database, migrated and empty; after the test, emptied
    for a later one under another name, or dropped."""
    url = await pg_databases.acquire()
    try:
        yield url
    finally:
        await pg_databases.release(url)


@pytest.fixture
async def pg_engine(pg_url: str, run_dir: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(make_settings(run_dir, pg_url), pg_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def sqlite_engine(
    sqlite_template: Path, tmp_path: Path, run_dir: Path
) -> AsyncIterator[AsyncEngine]:
    """The test's own SQLite file, migrated (beside ``run_dir``, not in its media root)."""
    url = copy_sqlite_database(sqlite_template, tmp_path / "editai-test.db")
    engine = create_engine(make_settings(run_dir, url), url)
    try:
        yield engine
    finally:
        await engine.dispose()


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


@asynccontextmanager
async def running_app(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Starlette]:
    """The app through its lifespan (embedded worker as ``settings`` say).

    Leaving it stops the worker: its running jobs are cancelled and handed back, their
    FFmpeg killed. Checked here, so that no test ends with its work still running (into
    its dirs, on the CPU of the next tests).
    """
    application = create_app(settings, engine=engine)
    async with application.router.lifespan_context(application):
        yield application
    left = live_processes_under(settings.temp_root, settings.media_dir)
    assert not left, f"processes of the app still running after its shutdown: {left}"


@pytest.fixture
async def app(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Starlette]:
    async with running_app(settings, engine) as application:
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def api(client: httpx.AsyncClient, settings: Settings) -> Api:
    return Api(client, settings)
