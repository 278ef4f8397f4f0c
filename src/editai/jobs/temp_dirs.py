"""Jobs' temp dirs, ``<temp>/<project_id>/<job_id>/``: made fresh for each attempt,
removed after it, and swept at start-up when their job is no longer running."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import uuid
from pathlib import Path

from editai.jobs.queue import JobQueue
from editai.logging import get_logger

log = get_logger("editai.jobs.worker")  # the worker's logger: these lines are its own


async def sweep_dead_job_dirs(root: Path, queue: JobQueue) -> None:
    """Remove the temp dirs under ``root`` of jobs no worker is running any more (after
    killing what an earlier attempt left running in them)."""
    candidates = await asyncio.to_thread(job_dirs, root)
    if not candidates:
        return
    running = await queue.running_among(candidates)
    dead = [path for job_id, path in candidates.items() if job_id not in running]
    for path in dead:
        stray = await asyncio.to_thread(kill_strays, path)
        if stray:
            log.warning("killed processes of a dead job", job_id=path.name, pids=stray)
        await asyncio.to_thread(shutil.rmtree, path, True)
    if dead:
        log.info("swept temp dirs of dead jobs", count=len(dead))


def fresh_dir(path: Path) -> list[int]:
    """A re-run (after a crash) starts from nothing: tasks write here, then move into place.

    A leftover dir means an earlier attempt on this machine never cleaned up: its worker
    was killed (SIGKILL, OOM) or lost the job. Its FFmpeg leads its own process group, so
    it outlived that worker and would keep writing here: killed first.
    """
    stray = kill_strays(path) if path.exists() else []
    shutil.rmtree(path, ignore_errors=True)
    for _ in range(3):  # the project dir may vanish under us: another job just removed it
        try:
            path.mkdir(parents=True, exist_ok=True)
            break
        except FileNotFoundError:
            continue
    else:
        path.mkdir(parents=True, exist_ok=True)
    return stray


def remove_job_dir(path: Path) -> None:
    """The job's dir, and its project's dir once no other job of the project uses it."""
    shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(OSError):  # not empty: another job of the project is running
        path.parent.rmdir()


def kill_strays(job_dir: Path) -> list[int]:
    """SIGKILL the process groups of processes whose command line names ``job_dir``.

    Only an earlier attempt of the job writes into its temp dir: its FFmpeg, orphaned when
    its worker died (the kernel does not kill a dead parent's children). Linux (/proc).
    """
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    marker = str(job_dir)
    inside = marker + os.sep
    me = os.getpid()
    killed: list[int] = []
    for entry in os.scandir(proc):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            with open(os.path.join(entry.path, "cmdline"), "rb") as f:
                args = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if not any(arg == marker or inside in arg for arg in args):
            continue
        pid = int(entry.name)
        try:
            if os.getpgid(pid) == pid:  # FFmpeg leads its group: take what it spawned too
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
        killed.append(pid)
    return killed


def job_dirs(root: Path) -> dict[uuid.UUID, Path]:
    """The job dirs under ``root`` by job id (none when ``root`` does not exist)."""
    found: dict[uuid.UUID, Path] = {}
    if not root.is_dir():
        return found
    for project_dir in root.iterdir():
        if not project_dir.is_dir() or project_dir.name == "uploads":
            continue
        for job_dir in project_dir.iterdir():
            try:
                found[uuid.UUID(job_dir.name)] = job_dir
            except ValueError:
                continue
    return found
