"""Jobs engine fixtures: small timings, workers, processes.

The jobs tests run workers that claim *every* queued job of their kind. Like every
test, each has a database of its own (tests/conftest.py), so a worker only ever sees its
own test's jobs. The exception is a module whose processes outlive a test (a server, a
remote worker: ``jobs_pg_url``): its tests share that module's database, and each starts
with an empty ``jobs`` table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.db.engine import create_engine
from editai.db.tenancy import SessionFactory
from editai.jobs.models import Job, JobKind, JobStatus
from editai.jobs.service import JobService
from editai.jobs.worker import Worker
from editai.profiles.models import Profile, User
from editai.profiles.repository import name_key
from editai.projects.models import Project
from editai.runtime import Runtime
from editai.settings import Settings
from tests.conftest import make_settings
from tests.databases import create_postgres_database, drop_postgres_database
from tests.filesystem import files_under as files_under  # re-exported for the job tests
from tests.jobs.handlers import KIND, EncodeHandler
from tests.processes import ProcessExit as ProcessExit  # re-exported for the job tests
from tests.processes import pids_referencing as pids_referencing
from tests.processes import process_alive as process_alive
from tests.processes import process_cmdline as process_cmdline

# Small timings so that recovery and retries take seconds, not minutes.
JOB_SETTINGS: dict[str, Any] = {
    "embedded_worker": False,
    "worker_concurrency": 2,
    "worker_poll_seconds": 0.1,
    "job_heartbeat_seconds": 0.3,
    "job_stale_after_seconds": 2.0,
    "job_retry_base_seconds": 0.2,
}
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@pytest.fixture(scope="module")
async def jobs_pg_url(pg_template: str) -> AsyncIterator[str]:
    """A module's own database, for processes that serve all of its tests."""
    url = await create_postgres_database("editai_jobs", template=pg_template)
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture(scope="module")
async def jobs_pg_engine(
    jobs_pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine]:
    settings = make_settings(tmp_path_factory.mktemp("jobs-module"), jobs_pg_url)
    engine = create_engine(settings, jobs_pg_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def _on_module_database(request: pytest.FixtureRequest) -> bool:
    return "jobs_pg_url" in request.fixturenames


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest) -> AsyncEngine:
    """The test's own database, or the module's where the module's processes serve."""
    if _on_module_database(request):
        name = "jobs_pg_engine"
    else:
        name = "pg_engine" if backend == "postgres" else "sqlite_engine"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
async def empty_jobs_table(engine: AsyncEngine, request: pytest.FixtureRequest) -> None:
    """A test on its module's database starts with no jobs (a test's own has none)."""
    if _on_module_database(request):
        async with SessionFactory(engine).system_transaction() as session:
            await session.execute(delete(Job))


@pytest.fixture
def settings(engine: AsyncEngine, tmp_path: Path, empty_jobs_table: None) -> Settings:
    """Overrides the suite's ``settings``: no embedded worker, small timings, own temp dir."""
    return make_settings(
        tmp_path,
        engine.url.render_as_string(hide_password=False),
        temp_dir=tmp_path / "tmp",
        **JOB_SETTINGS,
    )


@pytest.fixture
async def runtime(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Runtime]:
    """A process runtime (event bus started) on the test database, like a worker's."""
    rt = Runtime(settings, engine)
    settings.temp_root.mkdir(parents=True, exist_ok=True)
    await rt.events.start()
    try:
        yield rt
    finally:
        await rt.events.stop()


@dataclass
class Tenant:
    user_id: uuid.UUID
    profile_id: uuid.UUID
    project_id: uuid.UUID


async def make_tenant(sessions: SessionFactory, projects: int = 1) -> Tenant:
    """A user with one profile and a project, written through a system session."""
    user_id, profile_id, project_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with sessions.system_transaction() as session:
        session.add(User(id=user_id, email=f"{user_id.hex[:8]}@example.test"))
        await session.flush()
        session.add(
            Profile(
                id=profile_id,
                user_id=user_id,
                name="Jobs",
                name_key=name_key("Jobs"),
                is_default=True,
            )
        )
        await session.flush()
        session.add(Project(id=project_id, profile_id=profile_id, name="Jobs project"))
    return Tenant(user_id, profile_id, project_id)


@pytest.fixture
async def tenant(runtime: Runtime) -> Tenant:
    return await make_tenant(runtime.sessions)


async def enqueue(
    runtime: Runtime,
    tenant: Tenant,
    payload: dict[str, Any] | None = None,
    *,
    kind: JobKind = JobKind.EXPORT_CLIPS,
    max_attempts: int = 3,
    without_project: bool = False,
) -> uuid.UUID:
    """``JobService.enqueue`` in a tenant transaction (publishes QUEUED on commit)."""
    project_id = None if without_project else tenant.project_id
    async with runtime.sessions.tenant_transaction(tenant.profile_id, tenant.user_id) as session:
        job = await JobService(session, runtime.events, max_attempts).enqueue(
            kind, project_id, payload or {}
        )
        return job.id


async def load_job(runtime: Runtime, job_id: uuid.UUID) -> Job:
    async with runtime.sessions.system_transaction() as session:
        job = await session.scalar(select(Job).where(Job.id == job_id))
        assert job is not None
        return job


async def wait_for(
    predicate: Callable[[], Awaitable[bool]], within: float, what: str, every: float = 0.05
) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(every)


async def wait_status(
    runtime: Runtime,
    job_id: uuid.UUID,
    statuses: tuple[JobStatus, ...] = FINISHED,
    within: float = 20.0,
) -> Job:
    found: dict[str, Job] = {}

    async def reached() -> bool:
        found["job"] = await load_job(runtime, job_id)
        return found["job"].status in statuses

    await wait_for(reached, within, f"job {job_id} to reach {statuses}")
    return found["job"]


@contextlib.asynccontextmanager
async def running_worker(
    runtime: Runtime, handler: EncodeHandler | None = None, concurrency: int | None = None
) -> AsyncIterator[Worker]:
    handler = handler or EncodeHandler()
    worker = Worker(runtime, concurrency=concurrency, task_handlers={KIND: handler})
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()


# --------------------------------------------------------------------------- processes


class WorkerProcess:
    """``python -m tests.jobs.worker_main`` as a child process."""

    def __init__(
        self, database_url: str, temp_dir: Path, record: Path, name: str, log: Path, **opts: Any
    ) -> None:
        cmd = [
            sys.executable, "-m", "tests.jobs.worker_main",
            "--database-url", database_url,
            "--temp-dir", str(temp_dir),
            "--record", str(record),
            "--name", name,
        ]  # fmt: skip
        for key, value in opts.items():
            cmd += [f"--{key.replace('_', '-')}", str(value)]
        self.name = name
        self.log = log
        with log.open("w") as err:
            self.process = subprocess.Popen(
                cmd,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                cwd=Path(__file__).resolve().parents[2],
            )
        self.worker_id = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    async def ready(self, within: float = 30.0) -> str:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.process.stdout.readline), within)
        assert line.startswith("READY "), f"{self.name} did not start:\n{self.log.read_text()}"
        self.worker_id = line.split()[1]
        return self.worker_id

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.read_text().splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
        return lines

    def children(self) -> list[int]:
        found: list[int] = []
        for task in Path(f"/proc/{self.pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                found += [int(p) for p in (task / "children").read_text().split()]
        return found

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=5)


@pytest.fixture
def worker_processes(engine: AsyncEngine) -> Iterator[list[WorkerProcess]]:
    """Worker processes on the test's database, stopped before the database is dropped."""
    started: list[WorkerProcess] = []
    yield started
    for proc in started:  # all at once: each hands its jobs back and exits
        if proc.process.poll() is None:
            proc.process.send_signal(signal.SIGTERM)
    for proc in started:
        proc.stop()
        if proc.process.stdout is not None:
            proc.process.stdout.close()
