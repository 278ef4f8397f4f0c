"""Fixtures of the robustness tests: a real ``editai serve`` per test and database, with
a seeded world, and a summary of the figures they measured at the end of the run."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.databases import in_ci
from tests.robustness.stage import Stage, staged_server

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
    """For the fuzz: 2 users x 2 profiles x 3 projects, a video with clips."""
    backend, url = database
    async with staged_server(
        backend, tmp_path, url, users=2, profiles_per_user=2, projects_per_profile=3, media=True
    ) as staged:
        yield staged


@pytest.fixture
async def load_stage(database: tuple[str, str | None], tmp_path: Path) -> AsyncIterator[Stage]:
    """For the load: 3 users x 2 profiles x 4 projects, no media."""
    backend, url = database
    async with staged_server(
        backend, tmp_path, url, users=3, profiles_per_user=2, projects_per_profile=4, media=False
    ) as staged:
        yield staged
