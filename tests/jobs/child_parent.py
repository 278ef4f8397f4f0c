"""A stand-in for a worker in the child-process tests: it starts one child the way the app
does and waits for it, until the test kills it.

    python -m tests.jobs.child_parent --child ffmpeg|espeak --work DIR
        [--loop asyncio|uvloop] [--seconds S] [--die-before-prctl]

The child works in DIR: FFmpeg encodes ``S`` seconds of video in real time
(``tests.jobs.handlers.encode_args``, the engine tests' workload); the eSpeak
synthesizer child of the LOCAL TTS provider speaks a text of about ten seconds' work.
Prints ``CHILD <pid>`` once the child runs its own program, then ``DONE <outcome>`` if
it finishes before this process is killed.

``--die-before-prctl``: in the child, just before it arms its death signal, this process
is SIGKILLed, and the child waits until it has been adopted by another: the race of a
worker killed while it starts a child. The child writes its pid to ``DIR/child.pid``
first (this process cannot report it any more).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import select
import signal
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import editai.child_processes
from editai.media.binaries import find_binaries
from editai.media.ffmpeg import run_ffmpeg
from editai.settings import Settings
from editai.tts.providers.local import LocalTtsProvider
from tests.jobs.handlers import encode_args
from tests.processes import process_cmdline

# About ten seconds of synthesis: still speaking long after the test has killed us.
LONG_TEXT = "Every child process dies with the worker that started it. " * 2000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["ffmpeg", "espeak"], required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--die-before-prctl", action="store_true")
    return parser.parse_args()


def kill_parent_before_prctl(work: Path) -> None:
    """Wrap the helper's prctl: the parent dies just before the child calls it."""
    real = editai.child_processes._prctl

    def late_prctl(*args: Any) -> Any:
        # In the child, between fork and exec: raw system calls only.
        fd = os.open(work / "child.pid", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        parent = os.getppid()
        exited = os.pidfd_open(parent)
        os.kill(parent, signal.SIGKILL)
        select.select([exited], [], [], 10)
        while os.getppid() == parent:  # adoption follows the exit at once: a bounded spin
            pass
        return real(*args) if real is not None else 0

    editai.child_processes._prctl = late_prctl


def own_children() -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found += [int(pid) for pid in (task / "children").read_text().split()]
    return found


async def report_child(program: str, work: asyncio.Future[Any]) -> None:
    """Print ``CHILD <pid>`` once our child has exec'd ``program`` (polls /proc: the child
    tells nothing when it has); return early if the work ends first."""
    for _ in range(3000):
        for pid in own_children():
            if any(program in arg for arg in process_cmdline(pid)):
                print(f"CHILD {pid}", flush=True)
                return
        if work.done():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"no child running {program}")


async def main(args: argparse.Namespace) -> None:
    args.work.mkdir(parents=True, exist_ok=True)
    work: Awaitable[object]
    if args.child == "ffmpeg":
        binaries = find_binaries()
        program = binaries.ffmpeg
        work = run_ffmpeg(binaries, encode_args(args.work / "out.mp4", args.seconds))
    else:
        program = "editai.tts.espeak_synth"
        provider = LocalTtsProvider(Settings())
        work = provider.synthesize(LONG_TEXT, provider.default_voice(), args.work)
    task = asyncio.ensure_future(work)
    if not args.die_before_prctl:
        await report_child(program, task)
    try:
        await task
    except Exception as exc:  # the outcome is the test's to judge
        print(f"DONE failed: {type(exc).__name__}: {exc}", flush=True)
    else:
        print("DONE ok", flush=True)


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.die_before_prctl:
        kill_parent_before_prctl(arguments.work)
    if arguments.loop == "uvloop":
        import uvloop

        uvloop.run(main(arguments))
    else:
        asyncio.run(main(arguments))
