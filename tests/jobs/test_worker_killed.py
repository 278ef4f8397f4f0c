"""Children die with their worker (issue 7), and a killed worker's job completes elsewhere.

Unit level: a stand-in worker (``tests/jobs/child_parent.py``) starts one child exactly
as the app does (``run_ffmpeg``; the LOCAL TTS provider's eSpeak child) and is then
SIGKILLed: the child must be gone within a second, found by pid and process group.
Also the two ways a parent-death check can go wrong: the parent dying before the signal
is armed (under a subreaper), and a worker that is PID 1 of its container.

Worker level: real ``editai worker`` processes on PostgreSQL, a real render
(GENERATE_RAW_CLIPS, accurate cut). The worker running it is SIGKILLed while its FFmpeg
cuts the clip; the FFmpeg is gone within a second, and the other worker completes the
job after the heartbeat goes stale (DESIGN §7), its clip correct, the temp dir clean.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from editai.clips.models import Clip, ClipAspect, ClipStatus
from editai.clips.service import ClipService, GenerateClipsRequest
from editai.jobs.models import JobStatus
from editai.jobs.service import JobService
from editai.media.binaries import Binaries
from editai.media.ffmpeg import probe_video, run_ffmpeg
from editai.projects.source_video import SourceVideoService
from editai.runtime import Runtime
from editai.settings import Settings
from tests.jobs.conftest import (
    FINISHED,
    Tenant,
    WorkerProcess,
    files_under,
    load_job,
    process_alive,
    process_cmdline,
    wait_for,
    wait_status,
)
from tests.processes import ProcessExit

REPO = Path(__file__).resolve().parents[2]
STAND_IN = [sys.executable, "-m", "tests.jobs.child_parent"]
EDITAI = Path(sys.executable).parent / "editai"
PR_SET_CHILD_SUBREAPER = 36
# What "dies with its worker" means here (issue 7): gone within a second.
DEATH_WITHIN = 1.0


def group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (a zombie runs nothing: not counted)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


async def assert_dies(pid: int, exited: ProcessExit, killed_at: float, what: str) -> None:
    """``pid`` (watched by ``exited``, opened before the kill) and its whole process group
    are gone within DEATH_WITHIN of ``killed_at``."""
    command = " ".join(process_cmdline(pid))[:200]
    try:
        gone_at = await exited.wait(within=DEATH_WITHIN)
    except TimeoutError:
        pytest.fail(f"{what} still running {DEATH_WITHIN} s after its parent's SIGKILL: {command}")
    assert gone_at - killed_at < DEATH_WITHIN
    assert group_members(pid) == [], f"{what}'s process group outlived it"


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def start_stand_in(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*STAND_IN, *args], stdout=subprocess.PIPE, text=True, cwd=REPO)


async def read_line(process: subprocess.Popen[str], within: float = 30.0) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), within)
    return line.strip()


# --------------------------------------------------------------------------- unit level


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("child", ["ffmpeg", "espeak"])
async def test_a_child_dies_within_a_second_of_its_parents_sigkill(
    child: str, loop: str, tmp_path: Path
) -> None:
    parent = start_stand_in("--child", child, "--loop", loop, "--work", str(tmp_path))
    pid = 0
    try:
        line = await read_line(parent)
        assert line.startswith("CHILD "), line
        pid = int(line.split()[1])
        # Its own session and group: the kernel never signals it for its parent otherwise.
        assert os.getsid(pid) == pid
        assert os.getpgid(pid) == pid
        exited = ProcessExit(pid)
        parent.kill()
        killed_at = time.perf_counter()
        await assert_dies(pid, exited, killed_at, child)
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
        if pid:
            kill_group(pid)


@contextlib.contextmanager
def adopting_orphans() -> Iterator[None]:
    """This process adopts its descendants' orphans meanwhile, as systemd, ``tini -s`` or a
    container shim do: an orphan's new parent is then not PID 1."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    assert prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, os.strerror(ctypes.get_errno())
    try:
        yield
    finally:
        prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


async def test_a_child_whose_parent_dies_before_the_signal_is_armed_never_runs(
    tmp_path: Path,
) -> None:
    with adopting_orphans():
        parent = start_stand_in("--child", "ffmpeg", "--work", str(tmp_path), "--die-before-prctl")
        assert await asyncio.to_thread(parent.wait, 30) == -signal.SIGKILL
        if parent.stdout is not None:
            parent.stdout.close()
        pid = int((tmp_path / "child.pid").read_text())
        status = None
        try:
            exited = ProcessExit(pid)  # ours now: adopted (a zombie already, if it did right)
            await assert_dies(pid, exited, time.perf_counter(), "an orphan started in the race")
            _, status = await asyncio.to_thread(os.waitpid, pid, 0)
        finally:
            kill_group(pid)
            with contextlib.suppress(ChildProcessError):
                await asyncio.to_thread(os.waitpid, pid, 0)
    # It killed itself before exec, as its death signal would have: FFmpeg never ran (an
    # FFmpeg that ran would have died of SIGPIPE, writing progress to the dead parent's
    # pipe; one writing no pipe would have encoded on), and nothing was written.
    assert os.WIFSIGNALED(status), status
    assert os.WTERMSIG(status) == signal.SIGKILL, status
    assert os.listdir(tmp_path) == ["child.pid"]


def _pid_namespace_command() -> list[str]:
    """``unshare`` making the command PID 1 of a new PID namespace (as in a container)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    # --kill-child: a signal that ends unshare reaches the command too (as SIGTERM).
    as_root = [unshare, "--pid", "--kill-child=SIGTERM", "--mount-proc"]
    as_user = [unshare, "--user", "--map-root-user", *as_root[1:]]
    for command in (as_root, as_user) if os.geteuid() == 0 else (as_user,):
        probe = subprocess.run([*command, "true"], capture_output=True, timeout=30, check=False)
        if probe.returncode == 0:
            return command
    return []


@pytest.fixture(scope="module")
def in_pid_namespace() -> list[str]:
    command = _pid_namespace_command()
    if not command:
        message = "cannot create a PID namespace here (unshare missing or not permitted)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return command


async def test_a_worker_that_is_pid_1_of_its_container_runs_its_children(
    in_pid_namespace: list[str], tmp_path: Path
) -> None:
    """``editai worker`` as a container's command, without an init, is PID 1. A check of
    "my parent is gone" by ``getppid() == 1`` was then true in every child: each killed
    itself before exec, and no FFmpeg ever ran."""
    command = [*in_pid_namespace, *STAND_IN, "--child", "ffmpeg", "--seconds", "0.5"]
    command += ["--work", str(tmp_path)]
    done = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=60, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("CHILD "), done.stdout
    assert lines[-1] == "DONE ok", done.stdout + done.stderr
    assert (tmp_path / "out.mp4").stat().st_size > 0


# --------------------------------------------------------------------------- worker level

# The render: an accurate 9:16 cut of 8 s from a 16 s 640x360 source (a crop to 202x360).
CLIP_SECONDS = 8.0
CUT_SIZE = (202, 360)


@pytest.fixture(scope="module")
async def source_video(binaries: Binaries, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("worker-killed") / "source.mp4"
    await run_ffmpeg(binaries, [
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=16",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=16",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30",
        "-c:a", "aac", "-shortest", str(path),
    ])  # fmt: skip
    return path


class CliWorker(WorkerProcess):
    """``editai worker`` (the real command, the real task handlers) as a child process,
    configured by environment like a deployed one, from the test's ``settings``.

    ``prefix`` runs it under ``unshare``, as PID 1 of a PID namespace; ``pid`` is then the
    worker's own pid (in this namespace), not unshare's, and signals go to the worker.
    """

    def __init__(self, settings: Settings, name: str, log: Path, prefix: list[str]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EDITAI_")}
        env.update(
            EDITAI_ENV="test",
            EDITAI_DATABASE_URL=settings.database_url,
            EDITAI_DB_TENANT_ROLE=settings.db_tenant_role,
            EDITAI_AUTO_MIGRATE="false",
            EDITAI_DATA_DIR=str(settings.data_dir),
            EDITAI_MEDIA_ROOT=str(settings.media_dir),
            EDITAI_TEMP_DIR=str(settings.temp_root),
            EDITAI_SECRET_KEY=settings.secret_key.get_secret_value(),
            EDITAI_LOG_JSON="true",
            EDITAI_WORKER_CONCURRENCY="1",
            EDITAI_WORKER_POLL_SECONDS=str(settings.worker_poll_seconds),
            EDITAI_JOB_HEARTBEAT_SECONDS=str(settings.job_heartbeat_seconds),
            EDITAI_JOB_STALE_AFTER_SECONDS=str(settings.job_stale_after_seconds),
            EDITAI_JOB_RETRY_BASE_SECONDS=str(settings.job_retry_base_seconds),
        )
        self.name, self.log, self.worker_id = name, log, ""
        self.in_namespace = bool(prefix)
        self._worker_pid = 0
        with log.open("w") as err:
            self.process = subprocess.Popen(
                [*prefix, str(EDITAI), "worker"],
                env=env,
                cwd=settings.data_dir,  # no stray .env of the repository
                stdout=subprocess.DEVNULL,
                stderr=err,
                text=True,
            )

    @property
    def pid(self) -> int:
        if not self.in_namespace:
            return self.process.pid
        if not self._worker_pid:  # unshare forks the worker: its only child
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            with contextlib.suppress(OSError, ValueError, IndexError):
                self._worker_pid = int(children.read_text().split()[0])
        return self._worker_pid or self.process.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Stop the worker itself, and wait until it is gone (not only unshare)."""
        worker = self.pid
        if not self.in_namespace:
            return super().stop(sig, timeout)
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, sig)
        deadline = time.monotonic() + timeout
        while process_alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process_alive(worker):
            os.kill(worker, signal.SIGKILL)
        return super().stop(signal.SIGKILL, 5)

    async def ready(self, within: float = 30.0) -> str:
        async def started() -> bool:
            assert self.process.poll() is None, f"{self.name} exited:\n{self.log.read_text()}"
            lines = [line for line in self.log_lines() if line.get("event") == "worker started"]
            if lines:
                self.worker_id = str(lines[0]["worker_id"])
            return bool(lines)

        await wait_for(started, within, f"{self.name} to start")
        return self.worker_id


async def with_source_video(runtime: Runtime, tenant: Tenant, source: Path) -> None:
    """The upload's own service stores and probes the file (as ``uploadSourceVideo`` does)."""
    async with runtime.sessions.tenant_transaction(tenant.profile_id, tenant.user_id) as session:
        file = await asyncio.to_thread(source.open, "rb")
        try:
            await SourceVideoService(session, runtime).replace(tenant.project_id, file, source.name)
        finally:
            file.close()


async def enqueue_render(runtime: Runtime, tenant: Tenant) -> uuid.UUID:
    """``generateRawClips`` through its service: one accurate 9:16 clip."""
    request = GenerateClipsRequest(
        variant_count=1, clip_seconds=CLIP_SECONDS, aspect=ClipAspect.R9_16, accurate=True
    )
    settings = runtime.settings
    async with runtime.sessions.tenant_transaction(tenant.profile_id, tenant.user_id) as session:
        jobs = JobService(session, runtime.events, settings.job_max_attempts)
        job = await ClipService(session, jobs).generate_raw_clips(tenant.project_id, request)
        return job.id


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize("deployed", ["as processes", "as PID 1 of their containers"])
async def test_a_killed_workers_ffmpeg_dies_and_another_worker_completes_its_render(
    deployed: str,
    request: pytest.FixtureRequest,
    runtime: Runtime,
    settings: Settings,
    tenant: Tenant,
    source_video: Path,
    tmp_path: Path,
    worker_processes: list[WorkerProcess],
) -> None:
    prefix: list[str] = []
    if deployed != "as processes":
        prefix = request.getfixturevalue("in_pid_namespace")
    workers = [CliWorker(settings, n, tmp_path / f"{n}.log", prefix) for n in ("a", "b")]
    worker_processes.extend(workers)
    await asyncio.gather(*(w.ready() for w in workers))
    await with_source_video(runtime, tenant, source_video)
    job_id = await enqueue_render(runtime, tenant)
    job_dir = runtime.storage.job_temp_dir(tenant.project_id, job_id)
    clip_id = uuid.uuid5(job_id, "clip-0")  # the task's own naming: ids derive from the job
    cut_into = str(job_dir / f"{clip_id}.mp4")

    # Whichever worker claimed the job: found by the FFmpeg that writes the clip.
    cutting: list[tuple[CliWorker, int]] = []

    async def a_worker_cuts() -> bool:
        cutting[:] = [
            (w, p) for w in workers for p in w.children() if cut_into in process_cmdline(p)
        ]
        if not cutting:  # fail at once, not at the timeout, if the job ended without it
            job = await load_job(runtime, job_id)
            assert job.status not in FINISHED, f"the job ended {job.status}: {job.error}"
        return bool(cutting)

    await wait_for(a_worker_cuts, 60, "a worker's FFmpeg to cut the clip", every=0.01)
    [(victim, ffmpeg_pid)] = cutting
    [rescuer] = [w for w in workers if w is not victim]
    assert os.getpgid(ffmpeg_pid) == ffmpeg_pid  # leads its group: nothing else signals it
    exited = ProcessExit(ffmpeg_pid)
    os.kill(victim.pid, signal.SIGKILL)
    killed_at = time.perf_counter()
    await assert_dies(ffmpeg_pid, exited, killed_at, "the killed worker's FFmpeg")
    await asyncio.to_thread(victim.process.wait, 10)
    assert not process_alive(victim.pid)
    # Still the dead worker's until its heartbeat goes stale.
    assert (await load_job(runtime, job_id)).worker_id == victim.worker_id

    job = await wait_status(runtime, job_id, within=60)
    assert job.status is JobStatus.SUCCEEDED, job.error
    assert (job.attempts, job.worker_id) == (2, rescuer.worker_id)
    assert job.result == {"clip_ids": [str(clip_id)]}
    async with runtime.sessions.system_transaction() as session:
        clip = await session.scalar(select(Clip).where(Clip.id == clip_id))
    assert clip is not None
    assert clip.status is ClipStatus.READY
    assert clip.media_path is not None
    assert runtime.storage.local is not None
    probe = await probe_video(runtime.binaries, runtime.storage.local.resolve(clip.media_path))
    assert (probe.width, probe.height) == CUT_SIZE
    assert probe.duration_seconds == pytest.approx(CLIP_SECONDS, abs=0.15)
    # The re-run found nothing of the first attempt still running to kill (the leftover
    # sweep is only the second line of defence), and left no temp files.
    events = [line["event"] for line in rescuer.log_lines()]
    assert "killed processes of an earlier attempt" not in events
    assert files_under(settings.temp_root) == []
