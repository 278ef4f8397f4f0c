"""Share-nothing deployment: one server and two ``editai worker`` processes, each with
its own data, media and temp dirs, sharing only PostgreSQL and the S3 endpoint.

The pipeline runs through the server's GraphQL API; the workers do every job. The
worker cutting a clip is SIGKILLed mid-FFmpeg: the other completes the job (same keys:
no duplicate objects), and the killed worker, restarted on its machine, sweeps its
temp dir at start-up: no temp files anywhere, nothing on any local media root.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.settings import Settings
from tests.filesystem import files_under
from tests.jobs.conftest import WorkerProcess, wait_for
from tests.pipeline.conftest import EXPORT, EXTRACT, GENERATE, JOB
from tests.processes import process_alive, process_cmdline
from tests.s3.client import fetch, keys_in, open_uploads
from tests.s3.conftest import open_s3_env
from tests.s3.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedS3

EDITAI = Path(sys.executable).parent / "editai"
pytestmark = pytest.mark.timeout(240)


class S3Worker(WorkerProcess):
    """``editai worker`` configured by environment as on its own machine."""

    def __init__(self, settings: Settings, home: Path, name: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EDITAI_", "AWS_"))}
        env.update(
            EDITAI_ENV="test",
            EDITAI_DATABASE_URL=settings.database_url,
            EDITAI_DB_TENANT_ROLE=settings.db_tenant_role,
            EDITAI_AUTO_MIGRATE="false",
            EDITAI_DATA_DIR=str(home),
            EDITAI_MEDIA_ROOT=str(home / "media"),
            EDITAI_TEMP_DIR=str(home / "tmp"),
            EDITAI_SECRET_KEY=settings.secret_key.get_secret_value(),
            EDITAI_LOG_JSON="true",
            EDITAI_WORKER_CONCURRENCY="1",
            EDITAI_WORKER_POLL_SECONDS="0.1",
            EDITAI_JOB_HEARTBEAT_SECONDS="0.3",
            EDITAI_JOB_STALE_AFTER_SECONDS="2.0",
            EDITAI_JOB_RETRY_BASE_SECONDS="0.2",
            EDITAI_STORAGE="s3",
            EDITAI_S3_BUCKET=str(settings.s3_bucket),
            EDITAI_S3_ENDPOINT_URL=str(settings.s3_endpoint_url),
            EDITAI_S3_ACCESS_KEY_ID=ACCESS_KEY,
            EDITAI_S3_SECRET_ACCESS_KEY=SECRET_KEY,
            EDITAI_S3_ADDRESSING_STYLE="path",
        )
        home.mkdir(parents=True, exist_ok=True)
        self.home, self.name, self.worker_id = home, name, ""
        self.log = home / f"{name}-{uuid.uuid4().hex[:8]}.log"  # one per start
        with self.log.open("w") as err:
            self.process = subprocess.Popen(
                [str(EDITAI), "worker"],
                env=env,
                cwd=home,
                stdout=subprocess.DEVNULL,
                stderr=err,
                text=True,
            )

    async def ready(self, within: float = 60.0) -> str:
        async def started() -> bool:
            assert self.process.poll() is None, f"{self.name} exited:\n{self.log.read_text()}"
            lines = [x for x in self.log_lines() if x.get("event") == "worker started"]
            if lines:
                self.worker_id = str(lines[0]["worker_id"])
            return bool(lines)

        await wait_for(started, within, f"{self.name} to start")
        return self.worker_id


@pytest.mark.parametrize("backend", ["postgres"])
async def test_two_workers_sharing_only_postgres_and_s3(
    engine: AsyncEngine,
    tmp_path: Path,
    seaweed: SeaweedS3,
    bucket: str,
    s3: Any,
    videos: dict[str, bytes],
) -> None:
    async with open_s3_env(engine, tmp_path, seaweed, bucket, embedded_worker=False) as env:
        homes = {name: tmp_path / f"machine-{name}" for name in ("a", "b")}
        workers = {name: S3Worker(env.settings, home, name) for name, home in homes.items()}
        try:
            await asyncio.gather(*(w.ready() for w in workers.values()))
            await run(env, workers, homes, bucket, s3, videos)
        finally:
            for worker in workers.values():
                worker.stop()


async def run(
    env: Any,
    workers: dict[str, S3Worker],
    homes: dict[str, Path],
    bucket: str,
    s3: Any,
    videos: dict[str, bytes],
) -> None:
    user = await env.api.new_user()
    profile = user.default_profile_id
    project = await env.project_with_video(user, videos["pipeline"])
    await env.run_job(user, EXTRACT, {"p": project})

    # --- the render: its worker is killed while FFmpeg cuts the clip ----------------------
    generate = {"variantCount": 1, "clipSeconds": 8, "aspect": "R9_16", "accurate": True}
    job = await env.start(user, GENERATE, {"p": project, "input": generate})
    clip_id = uuid.uuid5(uuid.UUID(job["id"]), "clip-0")
    cutting: list[tuple[S3Worker, int]] = []

    async def a_worker_cuts() -> bool:
        cutting[:] = [
            (w, pid)
            for w in workers.values()
            for pid in w.children()
            if any(a.endswith(f"{job['id']}/{clip_id}.mp4") for a in process_cmdline(pid))
        ]
        if not cutting:
            status = (await user.gql(JOB, {"id": job["id"]})).ok()["job"]["status"]
            assert status in ("QUEUED", "RUNNING"), f"the job ended {status} before the kill"
        return bool(cutting)

    await wait_for(a_worker_cuts, 60, "a worker's FFmpeg to cut the clip", every=0.01)
    [(victim, _ffmpeg)] = cutting
    [rescuer] = [w for w in workers.values() if w is not victim]
    os.kill(victim.pid, signal.SIGKILL)
    await asyncio.to_thread(victim.process.wait, 10)
    assert not process_alive(victim.pid)

    rendered = await env.wait(user, job["id"], within=90)
    assert rendered.job["status"] == "SUCCEEDED", rendered.job
    assert rendered.job["attempts"] == 2
    [clip] = await env.clips(user, project)
    assert clip["id"] == str(clip_id)

    # --- the rest of the pipeline on the surviving worker -----------------------------------
    exported = await env.run_job(user, EXPORT, {"ids": [clip["id"]], "input": {"height": 240}})
    [after] = await env.clips(user, project)
    ranged = await fetch(after["downloadUrl"], Range="bytes=0-99")
    assert (ranged.status_code, len(ranged.content)) == (206, 100)

    # --- no duplicates: exactly the objects the rows name --------------------------------
    keys = keys_in(s3, bucket)
    assert [k for k in keys if "/clips/" in k] == [f"{profile}/{project}/clips/{clip_id}.mp4"]
    export_key = f"{profile}/{project}/exports/{clip_id}-{exported.job['id']}.mp4"
    assert [k for k in keys if "/exports/" in k] == [export_key]
    assert len(keys) == 3  # plus the source
    assert open_uploads(s3, bucket) == []

    # --- no temp files: the survivor's are gone; the victim, restarted, sweeps its own ------
    assert files_under(rescuer.home / "tmp") == []
    restarted = S3Worker(env.settings, victim.home, victim.name)
    try:
        await restarted.ready()
        assert files_under(victim.home / "tmp") == []
    finally:
        restarted.stop()
    for home in homes.values():  # nothing on any machine's disk
        assert [p for p in files_under(home) if p.suffix != ".log"] == []
    assert files_under(env.settings.media_dir) == []
