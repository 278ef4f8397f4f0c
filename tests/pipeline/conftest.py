"""End to end through the GraphQL API: upload, extractSegments, generateRawClips,
exportClips, downloads, with the embedded worker running real FFmpeg.

Each test gets its own app (embedded worker on) over its own test database, with a
fresh data dir, so "no files left" is checked by walking its media and temp roots.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.clips.models import Clip
from editai.jobs.models import Job
from editai.jobs.worker import Worker
from editai.media.binaries import Binaries
from editai.media.ffmpeg import run_ffmpeg
from tests.api import GraphQLResult, TestUser
from tests.app_env import AppEnv, serving
from tests.conftest import make_settings
from tests.filesystem import files_under
from tests.media.videos import Spec
from tests.pipeline.videos import PIPELINE, make_pipeline_video

UPLOAD = """
mutation($projectId: ID!, $file: Upload!) {
  uploadSourceVideo(projectId: $projectId, file: $file) {
    id sourceVideo { durationSeconds width height fps }
  }
}
"""
JOB_FIELDS = "id kind status progress attempts error result startedAt finishedAt"
JOB = f"query($id: ID!) {{ job(id: $id) {{ {JOB_FIELDS} }} }}"
EXTRACT = f"mutation($p: ID!) {{ extractSegments(projectId: $p) {{ {JOB_FIELDS} }} }}"
GENERATE = (
    "mutation($p: ID!, $input: GenerateClipsInput) "
    f"{{ generateRawClips(projectId: $p, input: $input) {{ {JOB_FIELDS} }} }}"
)
EXPORT = (
    "mutation($ids: [ID!]!, $input: ExportClipsInput) "
    f"{{ exportClips(clipIds: $ids, input: $input) {{ {JOB_FIELDS} }} }}"
)
CLIPS = """
query($p: ID!) { project(id: $p) { clips(first: 50) { edges { node {
  id variantIndex startSeconds endSeconds durationSeconds aspect status downloadUrl
} } } } }
"""
FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED")
# A long, busy source: accurate cuts of it keep FFmpeg busy for seconds.
LONG = Spec("long", 640, 360, 40.0)


@pytest.fixture(scope="session")
async def videos(binaries: Binaries, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The pipeline video (16 s, scenes and silences) and a long testsrc2 one (40 s)."""
    folder = tmp_path_factory.mktemp("pipeline-videos")
    long_path = folder / "long.mp4"
    size = f"{LONG.width}x{LONG.height}"
    long_args = [
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration={LONG.duration}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={LONG.duration}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30",
        "-c:a", "aac", "-shortest", str(long_path),
    ]  # fmt: skip
    pipeline_path, _ = await asyncio.gather(
        make_pipeline_video(binaries, folder), run_ffmpeg(binaries, long_args)
    )
    return {PIPELINE.name: pipeline_path.read_bytes(), LONG.name: long_path.read_bytes()}


@dataclass
class JobRun:
    """A finished job as ``job(id)`` showed it, and every progress value seen while polling."""

    job: dict[str, Any]
    statuses: list[str] = field(default_factory=list)
    progress: list[float] = field(default_factory=list)


@dataclass
class Env(AppEnv):
    def temp_files(self) -> list[Path]:
        return files_under(self.settings.temp_root)

    async def project_with_video(
        self, user: TestUser, video: bytes, name: str = "Pipeline", profile_id: str | None = None
    ) -> str:
        project_id = await user.create_project(name, profile_id=profile_id)
        uploaded = await user.upload(
            UPLOAD, {"projectId": project_id}, {"file": (f"{name}.mp4", video)},
            profile_id=profile_id,
        )  # fmt: skip
        assert uploaded.ok()["uploadSourceVideo"]["sourceVideo"] is not None
        return project_id

    @asynccontextmanager
    async def worker_running(self) -> AsyncIterator[Worker]:
        """For an app without the embedded worker: a worker while the block runs."""
        worker = Worker(self.runtime)
        await worker.start()
        try:
            yield worker
        finally:
            await worker.stop()

    async def start(
        self,
        user: TestUser,
        query: str,
        variables: dict[str, Any],
        profile_id: str | None = None,
    ) -> dict[str, Any]:
        """Run a job mutation; the job it returns (QUEUED, or already further along)."""
        result = await user.gql(query, variables, profile_id=profile_id)
        data = result.ok()
        (job,) = data.values()
        assert job["status"] in ("QUEUED", "RUNNING", *FINISHED), job
        return dict(job)

    async def wait(
        self,
        user: TestUser,
        job_id: str,
        *,
        within: float = 60.0,
        every: float = 0.02,
        profile_id: str | None = None,
    ) -> JobRun:
        """Poll ``job(id)`` until the job is finished (or fail after ``within`` seconds)."""
        run = JobRun(job={})
        deadline = time.monotonic() + within
        while True:
            job = (await user.gql(JOB, {"id": job_id}, profile_id=profile_id)).ok()["job"]
            run.statuses.append(job["status"])
            run.progress.append(job["progress"])
            if job["status"] in FINISHED:
                run.job = job
                return run
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} not finished after {within}s: {job}")
            await asyncio.sleep(every)

    async def run_job(
        self,
        user: TestUser,
        query: str,
        variables: dict[str, Any],
        profile_id: str | None = None,
        within: float = 60.0,
    ) -> JobRun:
        job = await self.start(user, query, variables, profile_id)
        run = await self.wait(user, job["id"], within=within, profile_id=profile_id)
        assert run.job["status"] == "SUCCEEDED", run.job
        return run

    async def clips(
        self, user: TestUser, project_id: str, profile_id: str | None = None
    ) -> list[dict[str, Any]]:
        data = (await user.gql(CLIPS, {"p": project_id}, profile_id=profile_id)).ok()
        return [edge["node"] for edge in data["project"]["clips"]["edges"]]

    async def download(self, url: str, folder: Path, name: str) -> Path:
        response = await self.client.get(url)
        assert response.status_code == 200, response.text
        path = folder / name
        path.write_bytes(response.content)
        return path

    async def counts(self) -> tuple[int, int]:
        """(jobs rows, clips rows) of the whole database, through a system session."""
        async with self.runtime.sessions.system() as session:
            jobs = await session.scalar(select(func.count()).select_from(Job))
            clips = await session.scalar(select(func.count()).select_from(Clip))
        return int(jobs or 0), int(clips or 0)

    async def job_row(self, job_id: str) -> Job:
        async with self.runtime.sessions.system() as session:
            row = await session.scalar(select(Job).where(Job.id == uuid.UUID(job_id)))
        assert row is not None
        return row


def expect(result: GraphQLResult, code: str) -> None:
    assert result.codes == [code], result


@asynccontextmanager
async def open_env(engine: AsyncEngine, tmp_path: Path, **overrides: object) -> AsyncIterator[Env]:
    """An app with the embedded worker, its own data dir, on the test database.

    ``overrides`` are settings, e.g. a fake provider's base URL.
    """
    url = engine.url.render_as_string(hide_password=False)
    settings = make_settings(tmp_path / "app", url, **{"worker_poll_seconds": 0.5, **overrides})
    async with serving(settings, engine, Env) as env:
        yield env


@pytest.fixture
async def env(engine: AsyncEngine, tmp_path: Path) -> AsyncIterator[Env]:
    async with open_env(engine, tmp_path) as opened:
        yield opened
