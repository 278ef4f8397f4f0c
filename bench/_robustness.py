"""What bench/fuzz_rate.py and bench/load_mixed.py share: the repository root on
sys.path (they reuse tests/robustness/), and a staged server per database."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from _common import postgres_database, scratch_dir  # noqa: E402
from tests.robustness.stage import Stage, staged_server  # noqa: E402

DATABASES = ("sqlite", "postgres")


@asynccontextmanager
async def bench_stage(
    backend: str, *, users: int, profiles_per_user: int, projects_per_profile: int, media: bool
) -> AsyncIterator[Stage]:
    """``editai serve`` on the embedded SQLite default (a fresh file) or on a throw-away
    PostgreSQL database (``editai_bench_<random>``, dropped afterwards), seeded."""
    with scratch_dir() as tmp:
        async with AsyncExitStack() as stack:
            url = None
            if backend == "postgres":
                url = await stack.enter_async_context(postgres_database())
            yield await stack.enter_async_context(
                staged_server(
                    backend,
                    tmp,
                    url,
                    users=users,
                    profiles_per_user=profiles_per_user,
                    projects_per_profile=projects_per_profile,
                    media=media,
                )
            )
