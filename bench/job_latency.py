"""Enqueue-to-start latency of a job with an idle worker on PostgreSQL (LISTEN/NOTIFY).

A worker runs in its own process, built like ``editai worker`` (``Runtime`` +
``Worker``), with ``concurrency=1``, a trivial handler injected for EXPORT_CLIPS (it
records ``time.time()`` when it is called) and a poll interval of ``--poll`` seconds (5)
so that only the NOTIFY wake-up can explain a short latency. This process enqueues
``--jobs`` jobs (100) one at a time through ``JobService.enqueue`` in a tenant
transaction, as a mutation does, and waits for each to finish before the next (so the
worker is idle, waiting on its wake-up, every time), with a pause of 20-40 ms.

Per job, from the moment the enqueuing transaction is committed (``time.time()`` just
before ``COMMIT``; both processes read the same clock):

* ``woken``: the job's ``started_at``, stamped by the worker as it begins the claiming
  transaction: the NOTIFY wake-up alone
* ``started``: the handler called: wake-up, the claim (UPDATE ... FOR UPDATE SKIP LOCKED
  RETURNING, its own NOTIFY, COMMIT) and the task's set-up (temp dir, context, log line)

Prints p50/p95/max of both and a ``SUMMARY job_latency: ...`` line. Target: p50 of
``started`` under 50 ms. Exit status 1 if a job did not succeed.

    .venv/bin/python bench/job_latency.py [--jobs 100] [--poll 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from _common import (
    machine_note,
    make_settings,
    migrated_engine,
    postgres_database,
    quiet_logs,
    scratch_dir,
    seed_user,
    sessions_for,
)
from _worker import serve_worker

TARGET_P50_MS = 50.0
WARMUP_JOBS = 5


# --------------------------------------------------------------------------- worker process


def run_worker(database_url: str, data_dir: Path, poll: float) -> None:
    """Child process: a Worker with a trivial handler, until SIGTERM."""
    from editai.jobs.models import JobKind
    from editai.jobs.registry import JobContext, JobResult

    quiet_logs()
    settings = make_settings(
        data_dir, database_url, worker_poll_seconds=poll, temp_dir=data_dir / "tmp"
    )

    async def trivial(_: JobContext) -> JobResult:
        return {"started": time.time()}

    serve_worker(settings, JobKind.EXPORT_CLIPS.value, trivial)


def start_worker(database_url: str, tmp: Path, poll: float) -> subprocess.Popen[str]:
    log = tmp / "worker.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, __file__, "--worker", "--database-url", database_url,
             "--data-dir", str(tmp / "worker"), "--poll", str(poll)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )  # fmt: skip
    assert process.stdout is not None
    if process.stdout.readline().strip() != "READY":
        process.kill()
        raise SystemExit(f"worker did not start:\n{log.read_text()}")
    return process


# --------------------------------------------------------------------------- measurement


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def describe(name: str, values_ms: list[float]) -> str:
    return (
        f"{name:<8} p50 {statistics.median(values_ms):6.1f} ms   "
        f"p95 {percentile(values_ms, 95):6.1f} ms   max {max(values_ms):6.1f} ms"
    )


async def bench(args: argparse.Namespace) -> int:
    from editai.jobs.events import Channel
    from editai.jobs.models import Job, JobKind, JobStatus
    from editai.jobs.service import JobService
    from editai.runtime import Runtime

    quiet_logs()
    async with postgres_database() as url:
        with scratch_dir() as tmp:
            settings = make_settings(tmp, url, embedded_worker=False)
            async with migrated_engine(settings) as engine:
                sessions = sessions_for(engine, settings)
                user = await seed_user(sessions, settings, [1])
                profile = user.profiles[0]
                runtime = Runtime(settings, engine)
                await runtime.events.start()
                worker = start_worker(url, tmp, args.poll)
                claimed_ms: list[float] = []
                started_ms: list[float] = []
                failures: list[str] = []
                try:
                    async with runtime.events.subscribe() as inbox:
                        for n in range(WARMUP_JOBS + args.jobs):
                            await asyncio.sleep(random.uniform(0.02, 0.04))
                            async with sessions.tenant_transaction(profile.id, user.id) as s:
                                job = await JobService(s, runtime.events).enqueue(
                                    JobKind.EXPORT_CLIPS, profile.project_ids[0], {"n": n}
                                )
                                job_id = job.id
                                committed = time.time()  # COMMIT is sent as the block exits
                            row = await finished(runtime, inbox, job_id, Channel, Job)
                            if row.status is not JobStatus.SUCCEEDED or row.result is None:
                                failures.append(f"{job_id}: {row.status} {row.error}")
                                continue
                            if n < WARMUP_JOBS:
                                continue
                            assert row.started_at is not None
                            claimed_ms.append((row.started_at.timestamp() - committed) * 1000)
                            started_ms.append((float(row.result["started"]) - committed) * 1000)
                finally:
                    worker.send_signal(signal.SIGTERM)
                    worker.wait(timeout=15)
                    await runtime.events.stop()

    print(f"job_latency: {args.jobs} jobs (+{WARMUP_JOBS} warm-up), worker in its own process,")
    print(f"  poll every {args.poll:g} s (only NOTIFY explains a short latency); {machine_note()}")
    if failures:
        print("FAILED jobs:", *failures, sep="\n  ")
        print(f"SUMMARY job_latency: FAILED ({len(failures)} jobs did not succeed)")
        return 1
    print("  " + describe("woken", claimed_ms))
    print("  " + describe("started", started_ms))
    p50, p95 = statistics.median(started_ms), percentile(started_ms, 95)
    verdict = "met" if p50 < TARGET_P50_MS else "MISSED"
    print(
        f"SUMMARY job_latency: enqueue-to-start p50 {p50:.1f} ms, p95 {p95:.1f} ms over "
        f"{args.jobs} jobs (wake-up p50 {statistics.median(claimed_ms):.1f} ms); "
        f"target p50 < {TARGET_P50_MS:g} ms {verdict}"
    )
    return 0


async def finished(
    runtime: Any, inbox: asyncio.Queue[Any], job_id: uuid.UUID, channel: Any, job_model: Any
) -> Any:
    """Wait (on NOTIFY, no polling) for the job to finish; return its row."""
    deadline = time.monotonic() + 30
    while True:
        try:
            event = await asyncio.wait_for(inbox.get(), max(deadline - time.monotonic(), 0.01))
        except TimeoutError:
            raise SystemExit(f"job {job_id} did not finish within 30 s") from None
        if event.channel is not channel.UPDATED or event.job_id != job_id:
            continue
        async with runtime.sessions.system_transaction() as session:
            row = await session.scalar(select(job_model).where(job_model.id == job_id))
        if row is not None and row.finished_at is not None:
            return row


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=100, help="measured jobs (100)")
    parser.add_argument("--poll", type=float, default=5.0, help="worker poll seconds (5)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.worker:
        run_worker(args.database_url, args.data_dir, args.poll)
        return 0
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
