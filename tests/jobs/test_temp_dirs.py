"""Per-job temp dirs: ``<temp>/<project_id>/<job_id>/``, removed in every outcome, swept.

In-process workers (``Worker(runtime, task_handlers=...)``) running real FFmpeg encodes.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from editai.db.base import utcnow
from editai.jobs.models import Job, JobStatus
from editai.jobs.service import JobService
from editai.jobs.worker import Worker
from editai.runtime import Runtime
from editai.settings import Settings
from tests.jobs.conftest import (
    Tenant,
    enqueue,
    files_under,
    load_job,
    running_worker,
    wait_for,
    wait_status,
)
from tests.jobs.handlers import IDLE_KIND, KIND, EncodeHandler, encode_args


async def test_concurrent_jobs_of_one_project_get_their_own_dirs(
    runtime: Runtime, tenant: Tenant
) -> None:
    handler = EncodeHandler()
    async with running_worker(runtime, handler, concurrency=2):
        first = await enqueue(runtime, tenant, {"seconds": 0.8})
        second = await enqueue(runtime, tenant, {"seconds": 0.8})
        await asyncio.wait_for(
            asyncio.gather(
                handler.running_event(first).wait(), handler.running_event(second).wait()
            ),
            10,
        )
        # Both encoding at once, each in its own dir under the project's.
        dirs = {job_id: handler.temp_dirs[job_id][0] for job_id in (first, second)}
        root = runtime.settings.temp_root.resolve()
        for job_id, path in dirs.items():
            assert path == root / str(tenant.project_id) / str(job_id)
            assert (path / "started").is_file()
            assert (path / "out.mp4").is_file()
        assert dirs[first] != dirs[second]
        for job_id in dirs:
            assert (await wait_status(runtime, job_id)).status is JobStatus.SUCCEEDED
        # Neither job's clean-up touched the other's dir while it ran: both succeeded.
    assert not dirs[first].exists()
    assert not dirs[second].exists()
    assert files_under(runtime.settings.temp_root) == []


async def test_temp_dir_is_removed_in_every_outcome(runtime: Runtime, tenant: Tenant) -> None:
    handler = EncodeHandler()
    async with running_worker(runtime, handler, concurrency=4):
        succeeded = await enqueue(runtime, tenant, {"seconds": 0.3}, without_project=True)
        failed = await enqueue(runtime, tenant, {"fail_attempts": 1}, max_attempts=1)
        permanent = await enqueue(runtime, tenant, {"seconds": 0.2, "permanent": True})
        retried = await enqueue(runtime, tenant, {"seconds": 0.3, "fail_attempts": 1})
        cancelled = await enqueue(runtime, tenant, {"seconds": 30})

        # Between the failed first attempt and the retry: nothing left on disk.
        async def waiting_for_retry() -> bool:
            job = await load_job(runtime, retried)
            return job.status is JobStatus.QUEUED and job.attempts == 1

        await wait_for(waiting_for_retry, 10, "the first attempt to fail", every=0.01)
        assert handler.temp_dirs[retried][0].parent.parent == runtime.settings.temp_root
        assert not handler.temp_dirs[retried][0].exists()

        await asyncio.wait_for(handler.running_event(cancelled).wait(), 10)
        assert handler.temp_dirs[cancelled][0].is_dir()
        async with runtime.sessions.tenant_transaction(tenant.profile_id, tenant.user_id) as s:
            await JobService(s, runtime.events).cancel(cancelled)

        outcomes = {
            succeeded: (JobStatus.SUCCEEDED, 1),
            failed: (JobStatus.FAILED, 1),
            permanent: (JobStatus.FAILED, 1),
            retried: (JobStatus.SUCCEEDED, 2),
            cancelled: (JobStatus.CANCELLED, 1),
        }
        for job_id, expected in outcomes.items():
            job = await wait_status(runtime, job_id)
            assert (job.status, job.attempts) == expected, job.error

    assert handler.temp_dirs[succeeded][0].parent.name == "no-project"
    for job_id in outcomes:
        for path in handler.temp_dirs[job_id]:
            assert not path.exists(), (job_id, path)
    assert files_under(runtime.settings.temp_root) == []


def _spawn_encode(runtime: Runtime, out: Path) -> subprocess.Popen[bytes]:
    """A 30 s FFmpeg encode into ``out``, in its own session (as ``run_ffmpeg`` starts it)."""
    cmd = [runtime.binaries.ffmpeg, "-nostdin", "-v", "error", "-y", *encode_args(out, 30)]
    return subprocess.Popen(cmd, start_new_session=True)


async def test_start_up_sweep_removes_dead_jobs_dirs_and_their_processes(
    runtime: Runtime, tenant: Tenant
) -> None:
    storage = runtime.storage
    async with runtime.sessions.tenant_transaction(tenant.profile_id, tenant.user_id) as s:
        jobs = {
            status: Job(kind=KIND, project_id=tenant.project_id, status=status)
            for status in (JobStatus.RUNNING, JobStatus.SUCCEEDED, JobStatus.QUEUED)
        }
        # QUEUED under a kind the worker does not take: it must stay as it is.
        jobs[JobStatus.QUEUED].kind = IDLE_KIND.value
        s.add_all(jobs.values())
        await s.flush()
        ids = {status: job.id for status, job in jobs.items()}
    dirs = {status: storage.job_temp_dir(tenant.project_id, i) for status, i in ids.items()}
    unknown = storage.job_temp_dir(tenant.project_id, uuid.uuid4())  # job row long gone
    no_project = storage.job_temp_dir(None, uuid.uuid4())
    for path in [*dirs.values(), unknown, no_project]:
        path.mkdir(parents=True)
        (path / "partial.mp4").write_bytes(b"half an encode")
    uploads = storage.upload_temp_dir()
    uploads.mkdir(parents=True)
    (uploads / "upload.part").write_bytes(b"an upload in progress")
    not_a_job = storage.temp_root / str(tenant.project_id) / "notes"
    not_a_job.mkdir()

    # FFmpeg still writing into a finished job's dir (its worker was SIGKILLed), and one
    # writing into the RUNNING job's dir (maybe a live worker's on this machine).
    orphan = _spawn_encode(runtime, dirs[JobStatus.SUCCEEDED] / "out.mp4")
    live = _spawn_encode(runtime, dirs[JobStatus.RUNNING] / "out.mp4")
    try:
        async with running_worker(runtime, EncodeHandler()):
            pass  # start() sweeps before it claims anything
        # The dead job's FFmpeg was killed (not left encoding for 30 s), the live one not.
        assert await asyncio.to_thread(orphan.wait, 5) == -9
        assert live.poll() is None
    finally:
        for proc in (orphan, live):
            proc.kill()
            proc.wait()

    assert dirs[JobStatus.RUNNING].is_dir()
    assert (dirs[JobStatus.RUNNING] / "partial.mp4").is_file()
    for gone in (dirs[JobStatus.SUCCEEDED], dirs[JobStatus.QUEUED], unknown, no_project):
        assert not gone.exists(), gone
    assert (uploads / "upload.part").is_file()
    assert not_a_job.is_dir()
    assert (await load_job(runtime, ids[JobStatus.QUEUED])).status is JobStatus.QUEUED


async def test_worker_that_lost_its_job_leaves_the_new_owners_dir_alone(
    runtime: Runtime, settings: Settings, tenant: Tenant
) -> None:
    """Worker A stalls past the stale limit; B re-queues and re-runs the job meanwhile.

    A must not remove the job's temp dir when it finds out (it is B's now), and B must
    stop A's FFmpeg (still writing there) before it starts from a fresh dir.
    """
    slow = Runtime(
        # A must not refresh the heartbeat the test makes stale (neither by beating nor by
        # reporting progress): it learns it lost the job when B kills its FFmpeg.
        settings.model_copy(
            update={"job_heartbeat_seconds": 60.0, "job_stale_after_seconds": 3600.0}
        ),
        runtime.engine,
    )
    await slow.events.start()
    a, b = EncodeHandler(worker="a", report_progress=False), EncodeHandler(worker="b")
    try:
        worker_a = Worker(slow, concurrency=1, task_handlers={KIND: a})
        await worker_a.start()
        job_id = await enqueue(runtime, tenant, {"seconds": 30, "rerun_seconds": 1.0})
        await asyncio.wait_for(a.running_event(job_id).wait(), 10)
        # A looks dead: its last heartbeat an hour ago.
        async with runtime.sessions.system_transaction() as s:
            await s.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(heartbeat_at=utcnow() - timedelta(hours=1))
            )
        async with running_worker(runtime, b, concurrency=1):
            job = await wait_status(runtime, job_id, within=20)
        await worker_a.stop()
    finally:
        await slow.events.stop()

    assert (job.status, job.attempts, job.worker_id is not None) == (JobStatus.SUCCEEDED, 2, True)
    assert job.result is not None
    assert (job.result["worker"], job.result["leftovers"]) == ("b", [])
    assert [(r.attempt, r.outcome) for r in a.runs] == [(1, "failed")]  # its FFmpeg killed
    assert [(r.attempt, r.outcome) for r in b.runs] == [(2, "succeeded")]
    assert a.temp_dirs[job_id] == b.temp_dirs[job_id]
    assert files_under(settings.temp_root) == []
