"""``editai`` command line: serve, worker, migrate, export-schema, token, costs."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from editai.settings import Environment, get_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from editai.app import create_app
    from editai.auth.tokens import mint_token
    from editai.logging import configure_logging
    from editai.process_tuning import freeze_startup_objects

    settings = get_settings()
    settings.host, settings.port = args.host or settings.host, args.port or settings.port
    configure_logging(settings.log_level, settings.logs_as_json)
    app = create_app(settings)  # refuses unsafe settings before anything listens
    if settings.env is Environment.development and settings.jwt_secret is not None:
        token = mint_token(settings, settings.dev_user_id, settings.dev_user_email, 30 * 24 * 3600)
        url = f"http://{settings.host}:{settings.port}/graphql"
        print(
            f"\n  GraphiQL:  {url}\n"
            f"  Dev token (30 days), send as header  Authorization: Bearer <token>\n\n"
            f"  {token}\n",
            file=sys.stderr,
            flush=True,
        )
    if args.workers > 1:
        # Separate processes each build their own app (and engine pool) from the environment,
        # and write their metrics into one directory: any of them answers /metrics for all
        # (prometheus-client's multiprocess mode; editai/metrics.py).
        metrics_dir = _multiprocess_metrics_dir()
        uvicorn.run(
            "editai.app:configured_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=args.workers,
            log_config=None,
            access_log=False,
            timeout_keep_alive=settings.http_keep_alive_seconds,
        )
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    else:
        freeze_startup_objects()
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            timeout_keep_alive=settings.http_keep_alive_seconds,
        )
    return 0


def _multiprocess_metrics_dir() -> str | None:
    """A fresh directory for the server processes' metrics (None: the operator set one)."""
    from editai.metrics import MULTIPROCESS_DIR_ENV

    if os.environ.get(MULTIPROCESS_DIR_ENV):
        return None
    path = tempfile.mkdtemp(prefix="editai-metrics-")
    os.environ[MULTIPROCESS_DIR_ENV] = path  # inherited by uvicorn's worker processes
    return path


def _migrate(args: argparse.Namespace) -> int:
    from editai.db import migrate
    from editai.db.engine import create_engine
    from editai.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, settings.logs_as_json)

    async def run() -> None:
        engine = create_engine(settings)
        try:
            if args.revision.startswith("-") or args.downgrade:
                await migrate.downgrade(engine, args.revision)
            else:
                await migrate.upgrade(engine, args.revision)
        finally:
            await engine.dispose()

    asyncio.run(run())
    return 0


def _worker(args: argparse.Namespace) -> int:
    from prometheus_client import start_http_server

    from editai.db.engine import create_engine
    from editai.jobs.worker import Worker
    from editai.logging import configure_logging
    from editai.media.storage import StorageConfigError
    from editai.metrics import watch_loop_lag
    from editai.runtime import Runtime

    settings = get_settings()
    configure_logging(settings.log_level, settings.logs_as_json)
    settings.check_startup()

    async def run() -> None:
        import editai.db.models  # noqa: F401 - every mapper registered

        runtime = Runtime(settings, create_engine(settings))
        settings.temp_root.mkdir(parents=True, exist_ok=True)
        await runtime.storage.store.start()  # wrong credentials: refuse to start
        await runtime.events.start()
        worker = Worker(runtime, concurrency=args.concurrency)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await worker.start()
        lag = asyncio.create_task(watch_loop_lag("worker"))
        if settings.worker_metrics_port is not None:
            # This process's own exposition (prometheus-client's server, in a thread).
            start_http_server(settings.worker_metrics_port, addr=settings.host)
        try:
            await stop.wait()
        finally:
            lag.cancel()
            await worker.stop()  # hands running jobs back to the queue
            await runtime.events.stop()
            await runtime.storage.store.close()
            await runtime.engine.dispose()

    try:
        asyncio.run(run())
    except StorageConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _export_schema(args: argparse.Namespace) -> int:
    from editai.graphql.schema import schema_sdl

    sdl = schema_sdl()
    if args.output:
        Path(args.output).write_text(sdl)
    else:
        sys.stdout.write(sdl)
    return 0


def _token(args: argparse.Namespace) -> int:
    from editai.auth.tokens import mint_token

    settings = get_settings()
    settings.ensure_dev_jwt_secret()
    if settings.jwt_secret is None:
        print("error: set EDITAI_JWT_SECRET to mint tokens", file=sys.stderr)
        return 2
    sub = args.sub or settings.dev_user_id
    try:
        uuid.UUID(sub)
    except ValueError:
        print("error: --sub must be a UUID", file=sys.stderr)
        return 2
    print(mint_token(settings, sub, args.email, args.ttl))
    return 0


def _costs(args: argparse.Namespace) -> int:
    """Operator view: every profile's costs, and those of deleted profiles as Legacy."""
    import json
    from datetime import datetime

    from editai.costs.service import CostReport
    from editai.db.engine import create_engine
    from editai.db.tenancy import SessionFactory
    from editai.errors import BadUserInput

    settings = get_settings()
    try:
        since = datetime.fromisoformat(args.since) if args.since else None
        until = datetime.fromisoformat(args.until) if args.until else None
    except ValueError as exc:
        print(f"error: --since/--until must be ISO 8601 dates: {exc}", file=sys.stderr)
        return 2

    async def run() -> list[Any]:
        import editai.db.models  # noqa: F401 - every mapper registered

        engine = create_engine(settings)
        try:
            sessions = SessionFactory(engine, settings.db_tenant_role)
            async with sessions.system_transaction() as session:
                return await CostReport(session).for_operator(since, until)
        finally:
            await engine.dispose()

    try:
        rows = asyncio.run(run())
    except BadUserInput as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "profile_id": r.profile_id,
                        "profile": r.profile_name,
                        "provider": r.line.provider,
                        "operation": r.line.operation,
                        "units": r.line.units,
                        "calls": r.line.calls,
                        "quantity": r.line.quantity,
                        "cost_usd": str(r.line.cost_usd),
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return 0
    header = ("PROFILE", "PROVIDER", "OPERATION", "UNITS", "CALLS", "QUANTITY", "COST_USD")
    table = [header] + [
        (
            r.profile_name if r.profile_id is None else f"{r.profile_name} ({r.profile_id})",
            r.line.provider,
            r.line.operation,
            r.line.units,
            str(r.line.calls),
            f"{r.line.quantity:g}",
            f"{r.line.cost_usd:.6f}",
        )
        for r in rows
    ]
    total = sum((r.line.cost_usd for r in rows), start=Decimal("0"))
    table.append(("TOTAL", "", "", "", "", "", f"{total:.6f}"))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _sweep_media(args: argparse.Namespace) -> int:
    from editai.db.engine import create_engine
    from editai.logging import configure_logging
    from editai.media.sweeper import sweep_orphans
    from editai.runtime import Runtime

    settings = get_settings()
    configure_logging(settings.log_level, settings.logs_as_json)

    async def run() -> int:
        import editai.db.models  # noqa: F401 - every mapper registered

        runtime = Runtime(settings, create_engine(settings))
        try:
            await runtime.storage.store.start()
            report = await sweep_orphans(runtime, grace_seconds=args.grace_seconds)
        finally:
            await runtime.storage.store.close()
            await runtime.engine.dispose()
        print(
            f"scanned {report.scanned} objects, removed {len(report.removed)} orphans, "
            f"aborted {report.aborted_uploads} incomplete uploads"
        )
        return 0

    return asyncio.run(run())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="editai", description="EditAI backend")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP server (GraphQL at /graphql)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument(
        "--workers", type=int, default=1, help="server processes (PostgreSQL deployments)"
    )
    serve.set_defaults(func=_serve)

    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.add_argument("revision", nargs="?", default="head")
    mig.add_argument("--downgrade", action="store_true", help="downgrade to REVISION")
    mig.set_defaults(func=_migrate)

    worker = sub.add_parser("worker", help="run a job worker process (scale-out)")
    worker.add_argument("--concurrency", type=int, default=None, help="jobs at once")
    worker.set_defaults(func=_worker)

    sweep = sub.add_parser(
        "sweep-media", help="remove stored media no row names (older than the grace period)"
    )
    sweep.add_argument(
        "--grace-seconds",
        type=float,
        default=None,
        help="default: EDITAI_MEDIA_ORPHAN_GRACE_SECONDS",
    )
    sweep.set_defaults(func=_sweep_media)

    export = sub.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("--output", "-o", default=None)
    export.set_defaults(func=_export_schema)

    token = sub.add_parser("token", help="mint a development JWT with the configured secret")
    token.add_argument("--sub", default=None, help="user id (UUID); default: the dev user")
    token.add_argument("--email", default=None)
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    token.set_defaults(func=_token)

    costs = sub.add_parser(
        "costs", help="cost summary of every profile (deleted profiles' costs as Legacy)"
    )
    costs.add_argument("--since", default=None, help="ISO 8601 date/time, inclusive")
    costs.add_argument("--until", default=None, help="ISO 8601 date/time, exclusive")
    costs.add_argument("--json", action="store_true", help="JSON instead of a table")
    costs.set_defaults(func=_costs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
