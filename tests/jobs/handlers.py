"""Real FFmpeg workloads for the engine tests, injected with ``Worker(task_handlers=...)``.

The handler encodes a lavfi ``testsrc2`` for ``payload["seconds"]`` seconds into the
job's temp dir, in real time (``-re``: a run lasts as long as its video, whatever the
machine), reporting progress from FFmpeg's ``-progress`` output like the real tasks.
Every run is recorded (in memory, and as a JSON line in a file shared across processes)
with its worker, attempt, wall-clock start and end and outcome.

Payload keys: ``seconds`` (default 0.5); ``rerun_seconds`` (used from the second attempt
on); ``worker_seconds`` (per worker name, overriding both); ``fail_attempts`` (the first N
attempts fail in FFmpeg: a missing input file); ``permanent`` (raise ``JobFailedError``
after encoding); ``tag`` (fails in FFmpeg while the tag is in the handler's
``fail_tags``: a cause a test can remove before a retry).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from editai.jobs.models import JobKind
from editai.jobs.registry import JobContext, JobFailedError, JobResult, TaskHandler
from editai.logging import get_logger
from editai.media.ffmpeg import run_ffmpeg

log = get_logger("tests.jobs.handler")

KIND = JobKind.EXPORT_CLIPS.value
# A kind no test worker handles: jobs of it stay QUEUED.
IDLE_KIND = JobKind.GENERATE_RAW_CLIPS


def encode_args(out: Path, seconds: float) -> list[str]:
    return [
        "-stats_period", "0.1",
        "-re",
        "-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=25:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        str(out),
    ]  # fmt: skip


@dataclass
class Run:
    job_id: str
    worker: str
    attempt: int
    start: float
    end: float
    outcome: str  # succeeded | failed | permanent | cancelled
    temp_dir: str
    pid: int = field(default_factory=os.getpid)


def read_runs(path: Path) -> list[Run]:
    if not path.exists():
        return []
    return [Run(**json.loads(line)) for line in path.read_text().splitlines() if line]


class EncodeHandler:
    """The injected task handler; keeps what the tests look at."""

    def __init__(
        self, record: Path | None = None, worker: str = "w", *, report_progress: bool = True
    ) -> None:
        self.record = record
        self.worker = worker
        self.report_progress = report_progress
        self.runs: list[Run] = []
        self.temp_dirs: dict[uuid.UUID, list[Path]] = {}
        self.running: dict[uuid.UUID, asyncio.Event] = {}
        # Tests may change these between attempts.
        self.fail_tags: set[str] = set()
        self.seconds: dict[uuid.UUID, float] = {}

    def handlers(self) -> dict[str, TaskHandler]:
        return {KIND: self}

    def running_event(self, job_id: uuid.UUID) -> asyncio.Event:
        return self.running.setdefault(job_id, asyncio.Event())

    async def __call__(self, context: JobContext) -> JobResult:
        job = context.job
        payload: dict[str, Any] = job.payload
        seconds = float(payload.get("seconds", 0.5))
        if job.attempts > 1 and "rerun_seconds" in payload:
            seconds = float(payload["rerun_seconds"])
        seconds = float(payload.get("worker_seconds", {}).get(self.worker, seconds))
        seconds = self.seconds.get(job.id, seconds)
        binaries = context.runtime.binaries
        start, outcome = time.time(), "failed"
        self.temp_dirs.setdefault(job.id, []).append(context.temp_dir)
        log.info("encoding", seconds=seconds, attempt=job.attempts)
        try:
            leftovers = sorted(p.name for p in context.temp_dir.iterdir())
            (context.temp_dir / "started").write_text(str(job.attempts))

            async def progress(value: float) -> None:
                self.running_event(job.id).set()
                if self.report_progress:
                    await context.report_progress(value)

            if (
                job.attempts <= int(payload.get("fail_attempts", 0))
                or payload.get("tag") in self.fail_tags
            ):
                await run_ffmpeg(
                    binaries, ["-i", str(context.temp_dir / "missing.mp4"), "-f", "null", "-"]
                )
            out = context.temp_dir / "out.mp4"
            await run_ffmpeg(
                binaries, encode_args(out, seconds), duration_seconds=seconds, on_progress=progress
            )
            if payload.get("permanent"):
                outcome = "permanent"
                raise JobFailedError("The clip ends after the end of the source video")
            # Still there: nobody removed this job's temp dir under it.
            size = out.stat().st_size
            log.info("encoded", bytes=size)
            outcome = "succeeded"
            return {"bytes": size, "leftovers": leftovers, "worker": self.worker}
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            run = Run(str(job.id), self.worker, job.attempts, start, time.time(), outcome,
                      str(context.temp_dir))  # fmt: skip
            self.runs.append(run)
            if self.record is not None:
                line = (json.dumps(asdict(run)) + "\n").encode()
                # One write(2) on an O_APPEND file: lines of concurrent processes never mix.
                fd = os.open(self.record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)
