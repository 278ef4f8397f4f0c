"""Overhead of the tenant hook: the same repository work, scoped session vs raw session.

One *op* = open a session, ``ProjectRepository.list_for_profile(first=20)`` and
``ProjectRepository.get(id)``, close the session (what a request does):

* ``scoped``: ``SessionFactory.tenant(profile_id, user_id)``, i.e. the ``do_orm_execute``
  hook (``with_loader_criteria``) and, on PostgreSQL, ``SET LOCAL ROLE`` + ``set_config``
  at transaction start (row-level security applies).
* ``raw``: a plain ``async_sessionmaker(engine)`` session running the repository's
  statements with an explicit ``where(Project.profile_id == ...)``.

Both return the same rows (checked before timing; the database holds a second profile so
a missing filter would show). Ops run one after another (no concurrency) in alternating
blocks, on PostgreSQL and on SQLite (where only the in-Python hook costs).

    .venv/bin/python bench/tenant_hook_overhead.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from _common import (
    capture_statements,
    machine_note,
    make_settings,
    migrated_engine,
    now,
    postgres_database,
    quiet_logs,
    scratch_dir,
    seed_user,
    sessions_for,
    short_sql,
)
from editai.db.tenancy import SessionFactory
from editai.pagination import PageRequest
from editai.projects.models import Project
from editai.projects.repository import ProjectRepository

PROJECTS_PER_PROFILE = 40
PAGE = 20
BLOCK = 10  # ops per timed block; blocks of the two modes alternate

Row = tuple[uuid.UUID, str, object]
Result = tuple[list[Row], Row | None]
Op = Callable[[], Awaitable[Result]]


def _row(p: Project | None) -> Row | None:
    return None if p is None else (p.id, p.name, p.created_at)


def scoped_op(
    sessions: SessionFactory, profile_id: uuid.UUID, user_id: uuid.UUID, pid: uuid.UUID
) -> Op:
    async def op() -> Result:
        async with sessions.tenant(profile_id, user_id) as session:
            repo = ProjectRepository(session)
            page = await repo.list_for_profile(PageRequest(PAGE, None))
            project = await repo.get(pid)
            return [r for p in page.items if (r := _row(p))], _row(project)

    return op


def raw_op(engine: AsyncEngine, profile_id: uuid.UUID, pid: uuid.UUID) -> Op:
    maker = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)

    async def op() -> Result:
        async with maker() as session:
            # ProjectRepository's statements, with the filter the hook would add.
            stmt = (
                select(Project)
                .where(Project.profile_id == profile_id)
                .order_by(Project.created_at.desc(), Project.id.desc())
                .limit(PAGE + 1)
            )
            rows = list((await session.scalars(stmt)).all())[:PAGE]
            project = await session.scalar(
                select(Project).where(Project.id == pid, Project.profile_id == profile_id)
            )
            return [r for p in rows if (r := _row(p))], _row(project)

    return op


@dataclass
class Timing:
    ops: int = 0
    seconds: float = 0.0

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0


async def python_calls_per_op(op: Op, n: int = 40) -> float:
    """Python function calls per op (cProfile, this thread): CPU work, immune to load noise."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        for _ in range(n):
            await op()
    finally:
        profiler.disable()
    return float(pstats.Stats(profiler).total_calls) / n  # type: ignore[attr-defined]


async def time_block(op: Op, timing: Timing) -> None:
    started = now()
    for _ in range(BLOCK):
        await op()
    timing.seconds += now() - started
    timing.ops += BLOCK


@dataclass
class BackendResult:
    backend: str
    scoped: Timing
    raw: Timing
    scoped_sql: list[str]
    raw_sql: list[str]
    scoped_cache: list[str]
    scoped_calls: float
    raw_calls: float

    @property
    def ratio(self) -> float:
        return self.scoped.ops_per_s / self.raw.ops_per_s

    @property
    def overhead_us(self) -> float:
        return (1 / self.scoped.ops_per_s - 1 / self.raw.ops_per_s) * 1e6


async def run_backend(backend: str, url: str, tmp: Path, seconds: float) -> BackendResult:
    settings = make_settings(tmp, url)
    async with migrated_engine(settings) as engine:
        sessions = sessions_for(engine, settings)
        user = await seed_user(
            sessions,
            settings,
            [PROJECTS_PER_PROFILE, PROJECTS_PER_PROFILE],
            clips_per_project=0,
            segments_per_project=0,
        )
        profile = user.profiles[0]
        target = profile.project_ids[PROJECTS_PER_PROFILE // 2]
        scoped = scoped_op(sessions, profile.id, user.id, target)
        raw = raw_op(engine, profile.id, target)

        # Same rows, the newest PAGE of this profile only, before anything is timed.
        scoped_result, raw_result = await scoped(), await raw()
        expected = list(reversed(profile.project_ids))[:PAGE]
        if scoped_result != raw_result or [r[0] for r in scoped_result[0]] != expected:
            raise SystemExit(f"{backend}: scoped and raw results differ")
        if scoped_result[1] is None or scoped_result[1][0] != target:
            raise SystemExit(f"{backend}: get() did not return the project")

        for _ in range(3):  # warm-up: pool connections, statement caches
            await time_block(scoped, Timing())
            await time_block(raw, Timing())
        with capture_statements(engine) as scoped_log:
            await scoped()
        with capture_statements(engine) as raw_log:
            await raw()

        timings = {"scoped": Timing(), "raw": Timing()}
        modes: list[tuple[str, Op]] = [("scoped", scoped), ("raw", raw)]
        started = now()
        while now() - started < seconds:
            for name, op in modes:
                await time_block(op, timings[name])
            modes.reverse()  # ABBA order: neither mode always runs first
        scoped_calls = await python_calls_per_op(scoped)
        raw_calls = await python_calls_per_op(raw)
    return BackendResult(
        backend,
        timings["scoped"],
        timings["raw"],
        scoped_log.statements,
        raw_log.statements,
        scoped_log.cache,
        scoped_calls,
        raw_calls,
    )


def report(result: BackendResult) -> None:
    print(f"\n[{result.backend}]")
    print(f"  statements per op: scoped {len(result.scoped_sql)}, raw {len(result.raw_sql)}")
    for statement, cache in zip(result.scoped_sql, result.scoped_cache, strict=True):
        print(f"    scoped [{cache:>4}] {short_sql(statement, 150)}")
    print(
        f"  Python calls per op: scoped {result.scoped_calls:.0f}, raw {result.raw_calls:.0f} "
        f"({result.scoped_calls - result.raw_calls:+.0f})"
    )
    for name, timing in (("scoped", result.scoped), ("raw", result.raw)):
        print(
            f"  {name:<7}{timing.ops:>7} ops in {timing.seconds:5.2f} s = "
            f"{timing.ops_per_s:7.0f} ops/s ({1e6 / timing.ops_per_s:6.0f} us/op)"
        )
    print(
        f"  scoped/raw = {result.ratio:.2f}  (hook costs {result.overhead_us:+.0f} us per op, "
        f"{(1 / result.ratio - 1) * 100:+.0f}%)"
    )


async def main() -> int:
    parser = argparse.ArgumentParser(description="tenant hook overhead")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed seconds per backend")
    args = parser.parse_args()
    quiet_logs()
    machine = machine_note()
    results: list[BackendResult] = []
    with scratch_dir() as tmp:
        async with postgres_database() as url:
            results.append(await run_backend("postgresql", url, tmp / "pg", args.seconds))
        sqlite_url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
        results.append(await run_backend("sqlite", sqlite_url, tmp / "sqlite", args.seconds * 0.6))

    print(
        f"One op = session + list_for_profile(first={PAGE}) + get(id), sequential; "
        f"{PROJECTS_PER_PROFILE} projects in each of 2 profiles; blocks of {BLOCK} ops "
        f"alternating scoped/raw; machine at start: {machine}"
    )
    for result in results:
        report(result)
    pg, lite = results
    print(
        f"\nSUMMARY tenant_hook_overhead: postgresql scoped {pg.scoped.ops_per_s:.0f} ops/s vs "
        f"raw {pg.raw.ops_per_s:.0f} ops/s (scoped/raw {pg.ratio:.2f}); sqlite scoped "
        f"{lite.scoped.ops_per_s:.0f} ops/s vs raw {lite.raw.ops_per_s:.0f} ops/s "
        f"(scoped/raw {lite.ratio:.2f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
