"""Tenant-fair claims against FIFO: one profile's backlog and another profile's one job.

On one throw-away PostgreSQL database, two worker processes (built like ``editai
worker``: ``Runtime`` + ``Worker``, ``concurrency=1`` each) serve EXPORT_CLIPS with a
handler that sleeps ``--job-seconds`` (0.2): a short job whose length does not depend on
the machine's load. Profile A queues ``--backlog`` jobs (50) in one transaction; once
both workers run A's jobs, profile B queues one. Measured from the jobs rows (one clock):

* B's wait: B's ``started_at`` minus B's ``created_at``, and how many A jobs started in
  between (the slots B was overtaken by);
* A's total: A's last ``finished_at`` minus A's first ``created_at``.

Both claim orders run in the same invocation, alternating for ``--rounds`` rounds (2),
each on an empty queue with fresh workers: ``EDITAI_JOB_CLAIM_ORDER=fifo`` (the claim
before issue 11: the oldest runnable job, whoever queued it) and ``fair`` (the default).

``--explain`` also fills the queue with ``--queued`` jobs (5000) of ``--profiles``
profiles (50) beside ``--finished`` finished ones (50,000), prints PostgreSQL's plan of
the fair ranking and the claim's mean time (a claim plus handing the job back, both
orders, with and without a cap).

    .venv/bin/python bench/fair_scheduling.py [--backlog 50] [--rounds 2] [--explain]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, delete, func, insert, select

from _common import (
    SeededProfile,
    SeededUser,
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
from editai.runtime import Runtime

WORKERS = 2
KIND = "EXPORT_CLIPS"


# --------------------------------------------------------------------------- worker process


def run_worker(args: argparse.Namespace) -> None:
    """Child process: a Worker of one slot whose handler sleeps, until SIGTERM."""
    from editai.jobs.registry import JobContext, JobResult

    quiet_logs()
    settings = make_settings(
        args.data_dir,
        args.database_url,
        temp_dir=args.data_dir / "tmp",
        worker_poll_seconds=1.0,
        job_claim_order=args.claim_order,
    )

    async def short_job(_: JobContext) -> JobResult:
        await asyncio.sleep(args.job_seconds)
        return {}

    serve_worker(settings, KIND, short_job)


def start_workers(
    url: str, tmp: Path, order: str, job_seconds: float
) -> list[subprocess.Popen[str]]:
    workers = []
    for n in range(WORKERS):
        log = tmp / f"worker-{order}-{n}.log"
        with log.open("w") as err:
            process = subprocess.Popen(
                [sys.executable, __file__, "--worker", "--database-url", url,
                 "--data-dir", str(tmp / f"worker-{n}"), "--claim-order", order,
                 "--job-seconds", str(job_seconds)],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )  # fmt: skip
        workers.append(process)
    for process in workers:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "READY":
            for p in workers:
                p.kill()
            raise SystemExit(f"a worker did not start:\n{log.read_text()}")
    return workers


def stop_workers(workers: list[subprocess.Popen[str]]) -> None:
    for process in workers:
        process.send_signal(signal.SIGTERM)
    for process in workers:
        process.wait(timeout=15)
        if process.stdout is not None:
            process.stdout.close()


# --------------------------------------------------------------------------- one round


@dataclass
class Round:
    order: str
    b_wait: float  # seconds from B's enqueue to its start
    overtaken: int  # A jobs started while B waited
    a_total: float  # seconds from A's first enqueue to A's last job done


Tenant = tuple[SeededUser, SeededProfile]


async def one_round(
    runtime: Runtime, users: tuple[Tenant, Tenant], order: str, args: argparse.Namespace, tmp: Path
) -> Round:
    from editai.jobs.models import Job, JobKind, JobStatus
    from editai.jobs.service import JobService

    (a, a_profile), (b, b_profile) = users
    async with runtime.sessions.system_transaction() as session:
        await session.execute(delete(Job))
    workers = start_workers(runtime.settings.database_url, tmp, order, args.job_seconds)
    try:
        async with runtime.sessions.tenant_transaction(a_profile.id, a.id) as session:
            service = JobService(session, runtime.events)
            for n in range(args.backlog):
                await service.enqueue(JobKind.EXPORT_CLIPS, a_profile.project_ids[0], {"n": n})

        async def count(*where: ColumnElement[bool]) -> int:
            async with runtime.sessions.system_transaction() as session:
                return int(
                    await session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
                )

        deadline = time.monotonic() + 30
        while await count(Job.status == JobStatus.RUNNING) < WORKERS:
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not pick A's jobs up")
            await asyncio.sleep(0.01)
        async with runtime.sessions.tenant_transaction(b_profile.id, b.id) as session:
            b_job = (
                await JobService(session, runtime.events).enqueue(
                    JobKind.EXPORT_CLIPS, b_profile.project_ids[0], {"b": True}
                )
            ).id
        limit = 60 + args.backlog * args.job_seconds * 2
        deadline = time.monotonic() + limit
        while await count(Job.status != JobStatus.SUCCEEDED) > 0:
            if time.monotonic() > deadline:
                raise SystemExit(f"jobs did not finish within {limit:.0f} s")
            await asyncio.sleep(0.05)
        async with runtime.sessions.system_transaction() as session:
            b_row = await session.scalar(select(Job).where(Job.id == b_job))
            assert b_row is not None
            assert b_row.started_at is not None
            first, last = (
                await session.execute(
                    select(func.min(Job.created_at), func.max(Job.finished_at)).where(
                        Job.profile_id == a_profile.id
                    )
                )
            ).one()
            overtaken = await session.scalar(
                select(func.count())
                .select_from(Job)
                .where(
                    Job.profile_id == a_profile.id,
                    Job.started_at > b_row.created_at,
                    Job.started_at < b_row.started_at,
                )
            )
        return Round(
            order,
            (b_row.started_at - b_row.created_at).total_seconds(),
            int(overtaken or 0),
            (last - first).total_seconds(),
        )
    finally:
        stop_workers(workers)


# --------------------------------------------------------------------------- claim cost


async def explain(runtime: Runtime, args: argparse.Namespace) -> None:
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql

    from editai.db.base import utcnow
    from editai.jobs.claims import ranking
    from editai.jobs.models import Job, JobStatus
    from editai.jobs.queue import JobQueue
    from editai.settings import ClaimOrder

    users = [await seed_user(runtime.sessions, runtime.settings, [1]) for _ in range(args.profiles)]
    async with runtime.sessions.system_transaction() as session:
        await session.execute(delete(Job))
        per = args.queued // args.profiles
        rows = [
            {"id": uuid.uuid4(), "profile_id": p.id, "project_id": p.project_ids[0],
             "kind": KIND, "status": JobStatus.QUEUED, "payload": {}, "progress": 0.0,
             "attempts": 0, "max_attempts": 3, "run_after": utcnow(),
             "cancel_requested": False, "created_at": utcnow(), "updated_at": utcnow()}
            for p in (u.profiles[0] for u in users) for _ in range(per)
        ]  # fmt: skip
        await session.execute(insert(Job), rows)
        # A history: every profile has finished jobs too (the claim must not scan them).
        template = rows[0]
        for start in range(0, args.finished, 10_000):
            history = [
                dict(template, id=uuid.uuid4(), profile_id=p.id, project_id=p.project_ids[0],
                     status=JobStatus.SUCCEEDED, started_at=utcnow())
                for n in range(start, min(start + 10_000, args.finished))
                for p in [users[n % len(users)].profiles[0]]
            ]  # fmt: skip
            await session.execute(insert(Job), history)
    async with runtime.engine.connect() as conn:
        await conn.execute(text("ANALYZE jobs"))
        await conn.commit()
    # The ranking as the claim sends it, compiled with its values, for EXPLAIN.
    statement = ranking(utcnow(), {KIND}, order=ClaimOrder.fair, cap=2)
    sql = str(
        statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
    async with runtime.sessions.system_transaction() as session:
        plan = (await session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql))).scalars().all()
    print(
        f"\nEXPLAIN ANALYZE of the fair ranking: {args.queued} queued and "
        f"{args.finished} finished jobs of {args.profiles} profiles"
    )
    print("  " + "\n  ".join(plan))

    print("\nclaim cost (claim + hand back, mean of 200, this process, no workers):")
    for order, cap in ((ClaimOrder.fifo, None), (ClaimOrder.fair, None), (ClaimOrder.fair, 2)):
        queue = JobQueue(
            runtime.sessions, runtime.events, claim_order=order, max_running_per_profile=cap
        )
        times = []
        for _ in range(200):
            start = time.perf_counter()
            job = await queue.claim("bench", {KIND})
            times.append(time.perf_counter() - start)
            assert job is not None
            await queue.release(job.id, "bench")
        print(f"  order={order.value:<4} cap={cap!s:<4} {statistics.mean(times) * 1000:6.2f} ms "
              f"(p50 {statistics.median(times) * 1000:.2f} ms)")  # fmt: skip


# --------------------------------------------------------------------------- main


async def bench(args: argparse.Namespace) -> int:
    from editai.runtime import Runtime

    quiet_logs()
    async with postgres_database() as url:
        with scratch_dir() as tmp:
            settings = make_settings(tmp, url, embedded_worker=False)
            async with migrated_engine(settings) as engine:
                sessions = sessions_for(engine, settings)
                a = await seed_user(sessions, settings, [1])
                b = await seed_user(sessions, settings, [1])
                runtime = Runtime(settings, engine)
                await runtime.events.start()
                try:
                    rounds = []
                    for _ in range(args.rounds):
                        for order in ("fifo", "fair"):
                            users = ((a, a.profiles[0]), (b, b.profiles[0]))
                            rounds.append(await one_round(runtime, users, order, args, tmp))
                    if args.explain:
                        await explain(runtime, args)
                finally:
                    await runtime.events.stop()

    print(
        f"\nfair_scheduling: {WORKERS} worker processes x 1 slot, jobs of {args.job_seconds:g} s; "
        f"A queues {args.backlog}, then B queues 1; {machine_note()}"
    )
    for r in rounds:
        print(f"  {r.order:<4}  B waited {r.b_wait:6.2f} s "
              f"(overtaken by {r.overtaken:2d} A jobs)   A's total {r.a_total:6.2f} s")  # fmt: skip
    summary = []
    for order in ("fifo", "fair"):
        mine = [r for r in rounds if r.order == order]
        summary.append(
            f"{order}: B waited {statistics.median(r.b_wait for r in mine):.2f} s "
            f"(max overtaken {max(r.overtaken for r in mine)}), "
            f"A's total {statistics.median(r.a_total for r in mine):.2f} s"
        )
    print("SUMMARY fair_scheduling: " + "; ".join(summary) + " (medians)")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backlog", type=int, default=50, help="A's jobs (50)")
    parser.add_argument("--job-seconds", type=float, default=0.2, help="one job (0.2 s)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each order (2)")
    parser.add_argument("--explain", action="store_true", help="the claim's plan and cost")
    parser.add_argument("--queued", type=int, default=5000, help="--explain: queued jobs")
    parser.add_argument("--profiles", type=int, default=50, help="--explain: their profiles")
    parser.add_argument("--finished", type=int, default=50_000, help="--explain: history")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--claim-order", default="fair", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.worker:
        run_worker(args)
        return 0
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
