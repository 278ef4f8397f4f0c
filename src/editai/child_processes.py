"""Child processes (FFmpeg, ffprobe, the eSpeak synthesizer): started so that they never
outlive the process that started them, and stopped with everything they started.

Every spawn in the code base goes through :func:`start_child`:

- The child leads its own session (and process group), whatever the event loop: cancelling
  kills the group at once (:func:`stop_child`), and FFmpeg's priority can be lowered alone.
- The kernel SIGKILLs the child the moment its parent dies, by SIGKILL or the OOM killer
  too (``PR_SET_PDEATHSIG``, Linux). A session leader is otherwise never signalled: an
  orphaned FFmpeg would encode on into its job's temp dir until another worker re-claimed
  the job, and the eSpeak child (which had no death signal) spoke to the end of its text,
  10-12 s after the kill. SIGKILL, not SIGTERM, which FFmpeg answers by finishing its file.
- The parent can die between fork and prctl. The child then has another parent than
  the one recorded before the fork and kills itself before it runs anything. The check
  compares with that pid, not with 1: a subreaper (systemd, tini -s, a container shim)
  adopts orphans, so such a child ran on; and a worker that is PID 1 of its container
  *is* 1, so every child it started killed itself at once.

The death signal follows the *thread* that forked, not the process: it fires when that
thread ends. asyncio and uvloop fork in the thread of the running event loop, which lives
as long as the loop, and ``start_child`` can only be awaited on a loop. So never start a
child from a short-lived thread, with a blocking call in ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1
_SIGKILL = int(signal.SIGKILL)


class ChildFailed(RuntimeError):
    """A helper process (the transcriber, the face detector) failed. The message is
    written for the user and shown on the job; the child's stderr goes to the log only."""


def _load_prctl() -> Any:
    """libc's ``prctl``, typed (the real one is variadic: pass full-width longs), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
    prctl.restype = ctypes.c_int
    return prctl


# Loaded here, in the parent: between fork and exec the child only makes the call.
_prctl: Any = _load_prctl()


def _child_setup(parent_pid: int, before_exec: Callable[[], None] | None) -> Callable[[], None]:
    """The pre-exec hook: runs in the child after fork, before exec."""

    def setup() -> None:
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # died before the signal was armed: die as it would
            os.kill(os.getpid(), _SIGKILL)
        # asyncio's subprocess makes the child a session leader before this hook, uvloop only
        # after it: lead one now, so that ``before_exec`` sees the same child under both.
        if os.getsid(0) != os.getpid():
            os.setsid()
        if before_exec is not None:
            before_exec()

    return setup


async def start_child(
    *cmd: str,
    stdin: int | None = asyncio.subprocess.DEVNULL,
    stdout: int | None = asyncio.subprocess.PIPE,
    stderr: int | None = asyncio.subprocess.PIPE,
    before_exec: Callable[[], None] | None = None,
) -> asyncio.subprocess.Process:
    """``asyncio.create_subprocess_exec(*cmd)`` in its own session, killed with its parent.

    ``before_exec`` runs in the child just before exec, once it leads its session (keep it
    to a few system calls: the child of a threaded parent must not take locks).
    """
    return await asyncio.create_subprocess_exec(
        *cmd,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        preexec_fn=_child_setup(os.getpid(), before_exec),
    )


def kill_child(process: asyncio.subprocess.Process) -> None:
    """SIGKILL the child's whole process group (it and anything it started)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, _SIGKILL)


async def stop_child(process: asyncio.subprocess.Process, within: float = 5.0) -> None:
    """Kill the child's group and reap the child (waiting at most ``within`` seconds)."""
    kill_child(process)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(process.wait(), timeout=within)
