"""The worker child process the job benchmarks start: one Worker of one slot running the
benchmark's own handler for one job kind, until SIGTERM. Prints READY once it claims."""

from __future__ import annotations

import asyncio
import signal

import editai.db.models  # noqa: F401 - every mapper registered
from editai.db.engine import create_engine
from editai.jobs.registry import TaskHandler
from editai.jobs.worker import Worker
from editai.runtime import Runtime
from editai.settings import Settings


def serve_worker(settings: Settings, kind: str, handler: TaskHandler) -> None:
    async def main() -> None:
        runtime = Runtime(settings, create_engine(settings))
        settings.temp_root.mkdir(parents=True, exist_ok=True)
        await runtime.events.start()
        worker = Worker(runtime, concurrency=1, task_handlers={kind: handler})
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await worker.start()
        print("READY", flush=True)
        try:
            await stop.wait()
        finally:
            await worker.stop()
            await runtime.events.stop()
            await runtime.engine.dispose()

    asyncio.run(main())
