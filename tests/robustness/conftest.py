"""Fixtures of the robustness tests: a real ``editai serve`` per test and database, with
a seeded world, and a summary of the figures they measured at the end of the run."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.databases import in_ci
from tests.fakes.postiz import FakePostiz
from tests.fakes.server import serve_app
from tests.robustness.seed import World, add_video_and_clips, seed_world, small_video
from tests.robustness.server import RunningServer, running_server

# Lines for the terminal summary (cases per database, latencies): figures a reader of
# the CI log wants without -s.
FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("robustness figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


def budget(variable: str, ci_seconds: float, local_seconds: float) -> float:
    """Seconds for a timed test: ``variable`` if set, else longer in CI than locally."""
    given = os.environ.get(variable)
    if given:
        return float(given)
    return ci_seconds if in_ci() else local_seconds


@dataclass
class Stage:
    server: RunningServer
    world: World
    video: bytes


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """The backend, and for PostgreSQL the test's own database (a copy of the migrated
    template). SQLite: none, the server makes its file as a new user's does."""
    backend = str(request.param)
    if backend == "postgres":
        return backend, str(request.getfixturevalue("pg_url"))
    return backend, None


@pytest.fixture
async def stage(database: tuple[str, str | None], tmp_path: Path) -> AsyncIterator[Stage]:
    """A server on the embedded SQLite default or on PostgreSQL (its own database, a copy
    of the migrated template), with a fake Postiz, 2 users x 2 profiles x 3 projects, and
    a real video with clips in the first user's second profile."""
    backend, url = database
    postiz = FakePostiz()
    async with serve_app(postiz.app()) as fake:
        env = {"EDITAI_POSTIZ_API_URL": fake.url, "EDITAI_POSTIZ_API_KEY": postiz.api_key}
        async with running_server(backend, tmp_path, url, env) as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
                world = await seed_world(
                    client, server.settings, users=2, profiles_per_user=2, projects_per_profile=3
                )
                video = await small_video(tmp_path)
                await add_video_and_clips(client, world.tenants[1], video)
            yield Stage(server, world, video)


@pytest.fixture
async def load_stage(database: tuple[str, str | None], tmp_path: Path) -> AsyncIterator[Stage]:
    """A server on either database with 3 users x 2 profiles x 4 projects (no media)."""
    backend, url = database
    async with running_server(backend, tmp_path, url) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            world = await seed_world(
                client, server.settings, users=3, profiles_per_user=2, projects_per_profile=4
            )
        yield Stage(server, world, b"")
