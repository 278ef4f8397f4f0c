"""Where a request's CPU goes, layer by layer, with no socket in between.

``throughput.py`` measures whole servers over loopback, where every ``send`` and
``recv`` costs tens of microseconds on a virtual machine. This script calls the ASGI apps
directly (one process, one event loop, production settings, a throw-away PostgreSQL
database seeded as in ``throughput.py``) and times requests that each add one layer:

* ``plain flat``: ``throughput.py``'s plain endpoint (Starlette + the same SQL);
* ``anon typename``: ``{ __typename }`` with no token: HTTP view, middleware, strawberry;
* ``authed typename``: adds the token check, ``BEGIN``, the identity lookup, ``ROLLBACK``;
* ``currentProfile``: adds the profile's own query;
* ``flat``/``nested``: ``throughput.py``'s queries (adds the page and its completion).

Prints the process CPU time per request (``time.process_time``) and wall time, median of
``--rounds`` rounds of ``--requests`` sequential requests each, after a warm-up. The
differences between rows are what each layer costs; the database's own CPU is not in
these figures (another process), its round trips' client side is.

    .venv/bin/python bench/inprocess_layers.py [--requests 400] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import pstats
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from _common import make_settings, postgres_database, scratch_dir
from throughput import PLAIN_PATHS, QUERIES, plain_app, run_async, seed

Send = Callable[[dict[str, Any]], Awaitable[None]]


def http_scope(method: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"host", b"127.0.0.1:8000"))
    if body:
        raw += [(b"content-type", b"application/json")]
        raw += [(b"content-length", str(len(body)).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def call(app: Any, scope: dict[str, Any], body: bytes) -> tuple[int, bytes]:
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # never: a disconnect would end the request
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(dict(scope), receive, send)
    return status, b"".join(chunks)


async def measure(
    app: Any, scope: dict[str, Any], body: bytes, requests: int, rounds: int
) -> tuple[float, float, bytes]:
    status, answer = await call(app, scope, body)
    if status != 200 or b'"errors"' in answer:
        raise SystemExit(f"{scope['path']} answered {status}: {answer[:300]!r}")
    for _ in range(requests // 4):
        await call(app, scope, body)
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(rounds):
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(requests):
            await call(app, scope, body)
        cpu.append((time.process_time() - c0) / requests)
        wall.append((time.perf_counter() - w0) / requests)
    return statistics.median(cpu), statistics.median(wall), answer


async def bench(args: argparse.Namespace) -> int:
    import editai.db.models  # noqa: F401  (every mapper registered, as throughput.py's servers)
    from editai.app import create_app
    from editai.logging import configure_logging
    from editai.process_tuning import freeze_startup_objects
    from editai.settings import Environment

    async with postgres_database() as url:
        with scratch_dir() as tmp:
            users = await seed(make_settings(tmp, url), "inprocess-layers")
            settings = make_settings(tmp, url, env=Environment.production)
            configure_logging(args.log_level, settings.logs_as_json)
            if args.discard_logs:
                # The log lines are still built; only the terminal's write is skipped.
                devnull = open(os.devnull, "w")  # noqa: ASYNC230, SIM115  (once, at start-up)
                for handler in logging.getLogger().handlers:
                    handler.stream = devnull  # type: ignore[attr-defined]
            graphql = create_app(settings)
            plain = plain_app(settings, url)
            user = users[0]
            headers = user.headers(user.profiles[0])
            rows: list[tuple[str, Any, dict[str, Any], bytes]] = []
            for shape in ("flat", "nested"):
                scope = http_scope("GET", PLAIN_PATHS[shape], headers, b"")
                rows.append((f"plain {shape}", plain, scope, b""))
            for name, query, hdrs in (
                ("anon typename", "{ __typename }", {}),
                ("authed typename", "{ __typename }", headers),
                ("currentProfile", "{ currentProfile { id } }", headers),
                ("flat", QUERIES["flat"], headers),
                ("nested", QUERIES["nested"], headers),
            ):
                body = json.dumps({"query": query}).encode()
                rows.append((name, graphql, http_scope("POST", "/graphql", hdrs, body), body))
            async with (
                graphql.router.lifespan_context(graphql),
                plain.router.lifespan_context(plain),
            ):
                freeze_startup_objects()
                print(f"{'request':<16} {'cpu us/req':>11} {'wall us/req':>12}")
                results: dict[str, float] = {}
                for name, app, scope, body in rows:
                    if name != (args.profile or args.only or name):
                        continue
                    if args.profile:
                        await measure(app, scope, body, args.requests, 1)  # warm
                        profiler = cProfile.Profile()
                        profiler.enable()
                    cpu, wall, _ = await measure(app, scope, body, args.requests, args.rounds)
                    if args.profile:
                        profiler.disable()
                        stats = pstats.Stats(profiler).sort_stats(args.sort)
                        stats.print_stats(args.top)
                    results[name] = cpu
                    print(f"{name:<16} {cpu * 1e6:>11.0f} {wall * 1e6:>12.0f}", flush=True)
            summary = " ".join(f"{k.replace(' ', '_')}={v * 1e6:.0f}us" for k, v in results.items())
            print(f"SUMMARY inprocess_layers: {summary}")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--log-level", default="INFO", help="INFO: one access line per request")
    parser.add_argument(
        "--discard-logs", action="store_true", help="write log lines to /dev/null, not stderr"
    )
    parser.add_argument("--only", help="measure this row only (e.g. under py-spy)")
    parser.add_argument("--profile", help="cProfile this row only (its name, e.g. flat)")
    parser.add_argument("--sort", default="cumulative", help="pstats order (cumulative, tottime)")
    parser.add_argument("--top", type=int, default=60, help="functions printed by --profile")
    return parser.parse_args()


if __name__ == "__main__":
    raise SystemExit(run_async(bench(parse_args())))
