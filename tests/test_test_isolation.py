"""The suite's own isolation: a test never sees another test's jobs, files or rows.

Each turn below is a test with an app and its embedded worker, as the API tests have.
It first checks that it starts from nothing, runs a job of its own, and then leaves
unfinished work behind, as a test that ends mid-job does: a job whose worker died while
running it (stale heartbeat) and a job still queued. Were the next test's app on the
same database, its worker would recover and claim them at start-up and write their
voice-overs into *its* media root (the flake of issue 7: a voice-over file that a job
from another test had written).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.db.base import utcnow
from editai.db.tenancy import SessionFactory
from editai.jobs.models import Job, JobStatus
from editai.profiles.models import User
from tests.pipeline.conftest import Env
from tests.tts.conftest import result_voiceover_id, synthesize, tts_env

pytestmark = pytest.mark.timeout(120)


async def jobs_in(env: Env) -> list[Job]:
    async with env.runtime.sessions.system() as session:
        return list((await session.scalars(select(Job))).all())


async def user_count(env: Env) -> int:
    async with env.runtime.sessions.system() as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def leave_unfinished_work(engine: AsyncEngine, done: Job) -> None:
    """Two copies of ``done``'s work: one RUNNING on a dead worker, one QUEUED and due."""
    long_ago = utcnow() - timedelta(hours=1)
    unfinished = {"kind": done.kind, "project_id": done.project_id, "payload": done.payload}
    async with SessionFactory(engine).system_transaction() as session:
        session.add_all(
            [
                Job(
                    id=uuid.uuid4(),
                    profile_id=done.profile_id,
                    status=JobStatus.RUNNING,
                    attempts=1,
                    worker_id="a-worker-that-died",
                    heartbeat_at=long_ago,
                    started_at=long_ago,
                    run_after=long_ago,
                    **unfinished,
                ),
                Job(
                    id=uuid.uuid4(),
                    profile_id=done.profile_id,
                    status=JobStatus.QUEUED,
                    run_after=long_ago,
                    **unfinished,
                ),
            ]
        )


@pytest.mark.parametrize("turn", ["first", "second"])
async def test_an_app_and_its_worker_see_only_their_own_tests_jobs(
    turn: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    async with tts_env(engine, tmp_path) as env:
        # Nothing of any earlier test: no jobs (queued, running or stale), no rows, no files.
        assert await jobs_in(env) == [], f"{turn} turn: jobs of another test"
        assert await user_count(env) == 0, f"{turn} turn: users of another test"
        assert env.media_files() == []
        assert env.temp_files() == []

        user = await env.api.new_user()
        project = await user.create_project("Isolated")
        run = await synthesize(env, user, project, "Only my own work, nobody else's.")
        assert run.job["status"] == "SUCCEEDED", run.job

        # The worker ran this test's job and nothing else; the media root holds its file.
        jobs = await jobs_in(env)
        worker_id = env.app.state.worker.worker_id
        claimed = [str(job.id) for job in jobs if job.worker_id == worker_id]
        assert claimed == [run.job["id"]], f"{turn} turn: the worker ran another test's jobs"
        (mine,) = jobs
        stored = env.local.resolve(
            env.storage.voiceover_key(
                uuid.UUID(user.default_profile_id),
                uuid.UUID(project),
                uuid.UUID(result_voiceover_id(run)),
            )
        )
        assert env.media_files() == [stored]

    await leave_unfinished_work(engine, mine)
