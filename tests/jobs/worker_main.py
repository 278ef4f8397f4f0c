"""A worker process for the multi-process tests, running the tests' FFmpeg handler.

    python -m tests.jobs.worker_main --database-url URL --temp-dir DIR --record FILE

Builds a Runtime and a Worker exactly as ``editai worker`` does, with the
``EncodeHandler`` of ``tests.jobs.handlers`` injected for EXPORT_CLIPS. Prints
``READY <worker_id>`` once it listens and polls; runs until SIGTERM/SIGINT (then hands
its running jobs back, as ``editai worker`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from pydantic import SecretStr

from editai.settings import Environment, Settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--temp-dir", type=Path, required=True)
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--name", default="worker")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--poll", type=float, default=0.2)
    parser.add_argument("--heartbeat", type=float, default=0.3)
    parser.add_argument("--stale-after", type=float, default=2.0)
    parser.add_argument("--retry-base", type=float, default=0.2)
    parser.add_argument("--claim-order", default="fair")
    parser.add_argument("--max-running-per-profile", type=int, default=None)
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    import editai.db.models  # noqa: F401 - every mapper registered
    from editai.db.engine import create_engine
    from editai.jobs.worker import Worker
    from editai.runtime import Runtime
    from tests.jobs.handlers import EncodeHandler

    data_dir = args.temp_dir.parent
    settings = Settings(
        env=Environment.test,
        data_dir=data_dir,
        media_root=data_dir / "media",
        temp_dir=args.temp_dir,
        database_url=args.database_url,
        secret_key=SecretStr("test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"),
        jwt_secret=SecretStr("unused-in-a-worker-0123456789-abcdefghijklmnopqrstuvwxyz"),
        worker_concurrency=args.concurrency,
        worker_poll_seconds=args.poll,
        job_heartbeat_seconds=args.heartbeat,
        job_stale_after_seconds=args.stale_after,
        job_retry_base_seconds=args.retry_base,
        job_claim_order=args.claim_order,
        job_max_running_per_profile=args.max_running_per_profile,
    )
    runtime = Runtime(settings, create_engine(settings))
    settings.temp_root.mkdir(parents=True, exist_ok=True)
    await runtime.events.start()
    worker = Worker(runtime, task_handlers=EncodeHandler(args.record, args.name).handlers())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await worker.start()
    print(f"READY {worker.worker_id}", flush=True)
    try:
        await stop.wait()
    finally:
        await worker.stop()
        await runtime.events.stop()
        await runtime.engine.dispose()


def main() -> None:
    args = parse_args()
    from editai.logging import configure_logging

    configure_logging(args.log_level, as_json=True)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
