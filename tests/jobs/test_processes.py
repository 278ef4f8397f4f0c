"""Several worker processes on one PostgreSQL database, and a worker killed mid-FFmpeg.

Workers are real processes (``tests/jobs/worker_main.py``) running real FFmpeg encodes;
every handler run is appended to a shared file with its worker and wall-clock times.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select

from editai.jobs.models import Job, JobStatus
from editai.runtime import Runtime
from editai.settings import Settings
from tests.jobs.conftest import (
    Tenant,
    WorkerProcess,
    enqueue,
    files_under,
    load_job,
    process_alive,
    process_cmdline,
    wait_for,
    wait_status,
)
from tests.jobs.handlers import read_runs

pytestmark = pytest.mark.parametrize("backend", ["postgres"])


def _url(settings: Settings) -> str:
    return settings.database_url


async def test_three_workers_run_thirty_jobs_exactly_once(
    runtime: Runtime,
    settings: Settings,
    tenant: Tenant,
    tmp_path: Path,
    worker_processes: list[WorkerProcess],
) -> None:
    record = tmp_path / "runs.jsonl"
    for n in range(3):
        worker_processes.append(
            WorkerProcess(
                _url(settings), settings.temp_root, record, f"w{n}", tmp_path / f"w{n}.log"
            )
        )
    worker_ids = set(await asyncio.gather(*(w.ready() for w in worker_processes)))
    assert len(worker_ids) == 3

    job_ids = [await enqueue(runtime, tenant, {"seconds": 0.3}) for _ in range(30)]

    async def all_done() -> bool:
        async with runtime.sessions.system_transaction() as session:
            statuses = (await session.scalars(select(Job.status))).all()
        return len(statuses) == 30 and all(s is JobStatus.SUCCEEDED for s in statuses)

    await wait_for(all_done, 40, "30 jobs to succeed", every=0.2)

    runs = read_runs(record)
    # Exactly one run per job, and it succeeded: nobody ran a job twice, even in sequence.
    assert Counter(r.job_id for r in runs) == {str(j): 1 for j in job_ids}
    assert all(r.outcome == "succeeded" for r in runs)
    for job_id in job_ids:
        job = await load_job(runtime, job_id)
        assert (job.status, job.attempts, job.progress) == (JobStatus.SUCCEEDED, 1, 1.0)
        assert job.worker_id in worker_ids
        assert job.result is not None
        assert job.result["bytes"] > 0
        assert job.result["worker"] == next(r.worker for r in runs if r.job_id == str(job_id))
    # All three got work, and each ran at most its concurrency (2) at once.
    per_worker: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in runs:
        per_worker[r.worker].append((r.start, r.end))
    assert set(per_worker) == {"w0", "w1", "w2"}
    for spans in per_worker.values():
        for start, _ in spans:
            overlapping = sum(1 for s, e in spans if s <= start < e)
            assert overlapping <= 2
    assert files_under(settings.temp_root) == []


async def test_killed_worker_job_recovers_without_orphans(
    runtime: Runtime,
    settings: Settings,
    tenant: Tenant,
    tmp_path: Path,
    worker_processes: list[WorkerProcess],
) -> None:
    record = tmp_path / "runs.jsonl"
    victim = WorkerProcess(
        _url(settings), settings.temp_root, record, "victim", tmp_path / "victim.log"
    )
    worker_processes.append(victim)
    await victim.ready()
    # Long enough that it is still encoding when killed; the second attempt is short.
    job_id = await enqueue(runtime, tenant, {"seconds": 30, "rerun_seconds": 0.5})

    async def encoding() -> bool:
        job = await load_job(runtime, job_id)
        return job.status is JobStatus.RUNNING and job.progress > 0

    await wait_for(encoding, 15, "the victim to be encoding")
    ffmpeg = [pid for pid in victim.children() if "ffmpeg" in " ".join(process_cmdline(pid))]
    assert len(ffmpeg) == 1, ffmpeg
    ffmpeg_pid = ffmpeg[0]
    job_dir = runtime.storage.job_temp_dir(tenant.project_id, job_id)
    assert str(job_dir) in " ".join(process_cmdline(ffmpeg_pid))
    assert (job_dir / "started").exists()

    # The rescuer is up (and idle: the job is the victim's) before the victim dies.
    rescuer = WorkerProcess(
        _url(settings), settings.temp_root, record, "rescuer", tmp_path / "rescuer.log"
    )
    worker_processes.append(rescuer)
    await rescuer.ready()
    assert (await load_job(runtime, job_id)).worker_id == victim.worker_id

    victim.process.send_signal(signal.SIGKILL)
    assert victim.process.wait(timeout=5) == -signal.SIGKILL
    killed_at = time.monotonic()

    # FFmpeg dies with its worker (PR_SET_PDEATHSIG), long before any recovery: it
    # leads its own session, so without that the kernel would let it encode on for 30 s.
    async def ffmpeg_gone() -> bool:
        return not process_alive(ffmpeg_pid)

    await wait_for(ffmpeg_gone, 1, "the orphaned FFmpeg to die with its worker")
    # The job is still RUNNING for the dead worker until its heartbeat goes stale.
    assert (await load_job(runtime, job_id)).status is JobStatus.RUNNING

    job = await wait_status(runtime, job_id, within=20)
    recovered_in = time.monotonic() - killed_at

    assert job.status is JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2
    assert job.worker_id == rescuer.worker_id
    # Not before the heartbeat went stale (2 s after the last beat), nor much later.
    stale = settings.job_stale_after_seconds - settings.job_heartbeat_seconds
    assert stale <= recovered_in < 10
    runs = read_runs(record)
    assert [(r.worker, r.attempt, r.outcome) for r in runs] == [("rescuer", 2, "succeeded")]
    # The re-run started from an empty temp dir (the victim's half-written files gone)...
    assert job.result is not None
    assert job.result["leftovers"] == []
    # ...and the rescuer found no process of the earlier attempt left to kill (its
    # leftover-process sweep is the second line of defence, tested in test_temp_dirs.py).
    assert not process_alive(ffmpeg_pid)
    killed = [
        line
        for line in rescuer.log_lines()
        if line["event"] == "killed processes of an earlier attempt"
    ]
    assert killed == []
    assert not job_dir.exists()
    assert files_under(settings.temp_root) == []


async def test_sigterm_hands_the_running_job_back_without_using_an_attempt(
    runtime: Runtime,
    settings: Settings,
    tenant: Tenant,
    tmp_path: Path,
    worker_processes: list[WorkerProcess],
) -> None:
    record = tmp_path / "runs.jsonl"
    first = WorkerProcess(_url(settings), settings.temp_root, record, "first", tmp_path / "1.log")
    worker_processes.append(first)
    await first.ready()
    # One attempt only: a deploy (SIGTERM) must not fail it.
    job_id = await enqueue(
        runtime, tenant, {"seconds": 0.5, "worker_seconds": {"first": 30}}, max_attempts=1
    )

    async def encoding() -> bool:
        job = await load_job(runtime, job_id)
        return job.status is JobStatus.RUNNING and job.progress > 0

    await wait_for(encoding, 15, "the first worker to be encoding")
    second = WorkerProcess(_url(settings), settings.temp_root, record, "second", tmp_path / "2.log")
    worker_processes.append(second)
    await second.ready()
    [ffmpeg_pid] = [p for p in first.children() if "ffmpeg" in " ".join(process_cmdline(p))]
    assert (await load_job(runtime, job_id)).worker_id == first.worker_id

    assert first.stop(signal.SIGTERM) == 0
    assert not process_alive(ffmpeg_pid)  # stopped with its worker, not orphaned
    # Handed back: QUEUED with the attempt not counted; the second worker, woken by the
    # hand-back's NOTIFY, may already be running it (or be done: the first one exits after
    # closing its pool).
    job = await load_job(runtime, job_id)
    assert job.error is None
    assert (job.status, job.attempts) in (
        (JobStatus.QUEUED, 0),
        (JobStatus.RUNNING, 1),
        (JobStatus.SUCCEEDED, 1),
    )

    job = await wait_status(runtime, job_id, within=15)
    assert (job.status, job.attempts, job.worker_id) == (
        JobStatus.SUCCEEDED,
        1,
        second.worker_id,
    )
    runs = read_runs(record)
    assert [(r.worker, r.attempt, r.outcome) for r in runs] == [
        ("first", 1, "cancelled"),
        ("second", 1, "succeeded"),
    ]
    assert files_under(settings.temp_root) == []
