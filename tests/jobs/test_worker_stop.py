"""Stopping a worker always stops it, even when a wake-up lands in the same tick."""

from __future__ import annotations

import asyncio

from editai.jobs.worker import Worker
from editai.runtime import Runtime
from tests.jobs.conftest import KIND, EncodeHandler


async def test_stop_is_not_lost_to_a_simultaneous_wake_up(runtime: Runtime) -> None:
    # A job finishing sets the wake event in the same loop tick as a shutdown's cancel.
    # Python 3.11's asyncio.wait_for then returns the wake-up and drops the cancel: the
    # worker loop would poll on forever and stop() would never return.
    for _ in range(20):
        worker = Worker(runtime, concurrency=1, task_handlers={KIND: EncodeHandler()})
        await worker.start()
        await asyncio.sleep(0.05)  # idle: waiting for a wake-up or the next poll
        worker.wake()
        stopping = asyncio.create_task(worker.stop())
        done, _ = await asyncio.wait({stopping}, timeout=5)
        assert stopping in done, "worker.stop() hangs"
        stopping.result()
