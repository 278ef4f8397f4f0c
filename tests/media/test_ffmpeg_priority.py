"""FFmpeg runs at low priority in its own session, and never lowers the server's.

Under uvloop (what ``editai serve`` runs on) the child's pre-exec hook runs before uvloop
makes it a session leader; a hook that set the autogroup's nice there demoted the whole
server (its requests then waited behind FFmpeg). Checked in a fresh session of its own,
under both event loops.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from editai.media.ffmpeg import FFMPEG_NICE

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, sys, uvloop
    from editai.media.binaries import find_binaries
    from editai.media.ffmpeg import run_ffmpeg

    def autogroup_nice(pid="self"):
        return int(open(f"/proc/{pid}/autogroup").read().split()[-1])

    async def main():
        before = autogroup_nice()
        args = ["-re", "-f", "lavfi", "-i", "anullsrc", "-t", "3", "-f", "null", "-"]
        task = asyncio.create_task(run_ffmpeg(find_binaries(), args))
        child = None
        for _ in range(200):
            await asyncio.sleep(0.01)
            kids = open(f"/proc/self/task/{os.getpid()}/children").read().split()
            if kids:
                child = int(kids[0])
                break
        await asyncio.sleep(0.2)  # past its pre-exec hook
        facts = {
            "loop": type(asyncio.get_running_loop()).__module__,
            "server_before": before,
            "server_after": autogroup_nice(),
            "child_leads_session": os.getsid(child) == child,
            "child_autogroup_nice": autogroup_nice(child),
            "child_nice": os.getpriority(os.PRIO_PROCESS, child),
        }
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        print(json.dumps(facts))

    (uvloop.run if sys.argv[1] == "uvloop" else asyncio.run)(main())
    """
)


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_ffmpeg_is_demoted_alone(loop: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, loop],
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,  # an autogroup of its own, at nice 0
        check=False,
    )
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    assert facts["server_before"] == 0, facts
    assert facts["server_after"] == 0, facts  # the server keeps its priority
    assert facts["child_leads_session"], facts  # cancelling kills FFmpeg's whole group
    assert facts["child_autogroup_nice"] == FFMPEG_NICE, facts
    assert facts["child_nice"] == FFMPEG_NICE, facts
