"""Processes seen through /proc: who names a path, who is still alive, when one exits."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path


def process_cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def pids_referencing(marker: str) -> list[int]:
    """Processes with ``marker`` (a job temp dir) in their command line."""
    found = []
    for entry in os.scandir("/proc"):
        pid = int(entry.name) if entry.name.isdigit() else 0
        if pid and pid != os.getpid() and any(marker in a for a in process_cmdline(pid)):
            found.append(pid)
    return found


def process_alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as dead: it runs nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def live_processes_under(*folders: Path) -> dict[int, list[str]]:
    """Live processes whose command line names a path inside one of ``folders``."""
    found: dict[int, list[str]] = {}
    for folder in folders:
        for pid in pids_referencing(str(folder) + os.sep):
            if process_alive(pid):
                found[pid] = process_cmdline(pid)
    return found


class ProcessExit:
    """The moment a process exits, from a pidfd (woken by the kernel at the exit itself)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._loop = asyncio.get_running_loop()
        self._exited: asyncio.Future[float] = self._loop.create_future()
        self._fd = os.pidfd_open(pid)
        self._loop.add_reader(self._fd, self._on_exit)

    def _on_exit(self) -> None:
        if not self._exited.done():
            self._exited.set_result(time.perf_counter())

    async def wait(self, within: float) -> float:
        """``time.perf_counter()`` at the exit."""
        try:
            return await asyncio.wait_for(asyncio.shield(self._exited), within)
        finally:
            self.close()

    def close(self) -> None:
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1
