"""Requests per second: the full GraphQL stack vs a plain Starlette endpoint, same SQL.

Targets, each a real uvicorn server in its own subprocess on 127.0.0.1 (uvloop and
httptools when installed, one worker each), both using ``create_engine`` on the same
throw-away PostgreSQL database:

* ``graphql``: ``create_app`` exactly as production builds it (``EDITAI_ENV=production``
  settings, JSON logs at ``--server-log-level``, default INFO like ``editai serve``): JWT
  verification, profile resolution, a tenant session (hook + ``SET LOCAL ROLE`` +
  ``set_config``, i.e. row-level security), strawberry, for
  ``projects(first: 20) { edges { node { id name status createdAt } } }``.
* ``plain``: one Starlette route that runs ``select(Project).where(profile_id == ...)
  .order_by(created_at desc, id desc).limit(21)`` in a plain ``AsyncSession`` and returns
  the same 20 nodes as JSON. No auth, no tenancy, no GraphQL.

The load generator is this process: ``--concurrency`` keep-alive HTTP/1.1 connections, a
minimal asyncio client (so the client is not the bottleneck), ``--warmup`` seconds per
target, then ``--rounds`` alternating measured rounds per target totalling ``--duration``
seconds each. Before timing, both targets' answers are compared for equality.

    .venv/bin/python bench/throughput.py [--concurrency 16] [--duration 10] [--warmup 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import statistics
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

from _common import (
    machine_note,
    make_settings,
    migrated_engine,
    now,
    postgres_database,
    scratch_dir,
    seed_user,
    sessions_for,
)

HOST = "127.0.0.1"
PROJECTS_IN_PROFILE = 30
PAGE = 20
QUERY = "{ projects(first: 20) { edges { node { id name status createdAt } } } }"


# --------------------------------------------------------------------------- servers


def serve(target: str, database_url: str, data_dir: Path, log_level: str) -> None:
    """Child process: build the target app, bind 127.0.0.1:0, print the port, serve."""
    import uvicorn
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    # Every mapper registered before the first query, as in the parent (whose migration
    # imports them): relationships name classes of domains the schema may not import yet.
    import editai.db.models  # noqa: F401
    from editai.app import create_app
    from editai.db.engine import create_engine
    from editai.logging import configure_logging
    from editai.projects.models import Project
    from editai.settings import Environment

    settings = make_settings(data_dir, database_url, env=Environment.production)
    configure_logging(log_level, settings.logs_as_json)
    app: Starlette
    if target == "graphql":
        app = create_app(settings)
    else:
        engine = create_engine(settings, database_url)
        maker = async_sessionmaker(engine, expire_on_commit=False)

        async def projects(request: Request) -> JSONResponse:
            profile_id = uuid.UUID(request.headers["x-profile-id"])
            stmt = (
                select(Project)
                .where(Project.profile_id == profile_id)
                .order_by(Project.created_at.desc(), Project.id.desc())
                .limit(PAGE + 1)
            )
            async with maker() as session:
                rows = (await session.scalars(stmt)).all()
            nodes = [
                {
                    "id": str(p.id),
                    "name": p.name,
                    "status": p.status.value,
                    "createdAt": p.created_at.isoformat(),
                }
                for p in rows[:PAGE]
            ]
            return JSONResponse({"data": {"projects": {"edges": [{"node": n} for n in nodes]}}})

        async def health(_: Request) -> JSONResponse:
            return JSONResponse({"status": "ok"})

        @asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            yield
            await engine.dispose()

        app = Starlette(
            routes=[Route("/projects", projects), Route("/health", health)], lifespan=lifespan
        )

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


@dataclass
class Server:
    target: str
    process: subprocess.Popen[str]
    port: int
    log_path: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def start_server(target: str, database_url: str, tmp: Path, log_level: str) -> Server:
    log_path = tmp / f"server-{target}.log"
    log_file: TextIO
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                target,
                "--database-url",
                database_url,
                "--data-dir",
                str(tmp / target),
                "--server-log-level",
                log_level,
            ],
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("PORT "):
        process.kill()
        raise SystemExit(f"{target} server did not start:\n{log_path.read_text()}")
    return Server(target, process, int(line.split()[1]), log_path)


async def wait_ready(server: Server) -> None:
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{server.port}") as client:
        for _ in range(200):
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if server.process.poll() is not None:
                break
            await asyncio.sleep(0.05)
    raise SystemExit(f"{server.target} server not ready:\n{server.log_tail()}")


# --------------------------------------------------------------------------- load generator


@dataclass
class Target:
    name: str
    port: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""

    def raw_request(self) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        if self.body:
            lines += ["Content-Type: application/json", f"Content-Length: {len(self.body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body

    async def fetch_json(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{self.port}") as client:
            response = await client.request(
                self.method,
                self.path,
                headers={**self.headers, "Content-Type": "application/json"},
                content=self.body or None,
            )
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data


@dataclass
class Run:
    requests: int = 0
    seconds: float = 0.0
    failures: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in header_lines:
        if ":" in line:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, b"".join(chunks)
            chunks.append(chunk[:-2])
    raise RuntimeError(f"response without a length: {headers}")


async def load(target: Target, seconds: float, concurrency: int, run: Run | None) -> None:
    """``concurrency`` keep-alive connections sending requests back to back for ``seconds``."""
    request = target.raw_request()
    started = now()
    deadline = started + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(HOST, target.port)
        try:
            while (t0 := now()) < deadline:
                writer.write(request)
                status, body = await _read_response(reader)
                if run is not None:
                    run.requests += 1
                    run.latencies_ms.append((now() - t0) * 1000)
                    if status != 200 or b'"errors"' in body:
                        run.failures += 1
        finally:
            writer.close()
            await writer.wait_closed()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if run is not None:
        run.seconds += now() - started


# --------------------------------------------------------------------------- main


def nodes_of(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["node"] for e in answer["data"]["projects"]["edges"]]


async def bench(args: argparse.Namespace) -> int:
    machine = machine_note()
    with scratch_dir() as tmp:
        async with postgres_database() as url:
            settings = make_settings(tmp, url)
            async with migrated_engine(settings) as engine:
                user = await seed_user(
                    sessions_for(engine, settings),
                    settings,
                    [PROJECTS_IN_PROFILE],
                    clips_per_project=0,
                    segments_per_project=0,
                )
            profile = user.profiles[0]
            servers: list[Server] = []
            try:
                for name in ("graphql", "plain"):
                    servers.append(start_server(name, url, tmp, args.server_log_level))
                for server in servers:
                    await wait_ready(server)
                graphql_server, plain_server = servers
                targets = [
                    Target(
                        "graphql",
                        graphql_server.port,
                        "POST",
                        "/graphql",
                        user.headers(profile),
                        json.dumps({"query": QUERY}).encode(),
                    ),
                    Target(
                        "plain",
                        plain_server.port,
                        "GET",
                        "/projects",
                        {"X-Profile-Id": str(profile.id)},
                    ),
                ]
                answers = [nodes_of(await t.fetch_json()) for t in targets]
                if answers[0] != answers[1] or len(answers[0]) != PAGE:
                    print(f"answers differ:\n{answers[0][:2]}\n{answers[1][:2]}")
                    return 1
                runs = {t.name: Run() for t in targets}
                for target in targets:
                    await load(target, args.warmup, args.concurrency, None)
                for _ in range(args.rounds):
                    for target in targets:
                        await load(
                            target, args.duration / args.rounds, args.concurrency, runs[target.name]
                        )
            except BaseException:
                for server in servers:
                    print(f"--- {server.target} server log (tail) ---\n{server.log_tail()}")
                raise
            finally:
                for server in servers:
                    server.stop()

    print(
        f"Same answer from both targets: {PAGE} projects (id, name, status, createdAt) of a "
        f"profile with {PROJECTS_IN_PROFILE}; PostgreSQL"
    )
    print(f"Machine at start: {machine}; the client, the servers and PostgreSQL share the CPUs")
    print(
        f"Load: {args.concurrency} keep-alive connections from one client process, "
        f"{args.warmup:g} s warm-up then {args.rounds} alternating rounds, "
        f"{args.duration:g} s measured per target; each server: 1 uvicorn process; "
        f"GraphQL server logs at {args.server_log_level}"
    )
    print(f"\n  {'target':<9}{'requests':>10}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'fail':>6}")
    for name, run in runs.items():
        print(
            f"  {name:<9}{run.requests:>10}{run.rps:>10.0f}"
            f"{statistics.median(run.latencies_ms):>9.1f}{run.percentile(0.99):>9.1f}"
            f"{run.failures:>6}"
        )
    graphql, plain = runs["graphql"], runs["plain"]
    ratio = graphql.rps / plain.rps if plain.rps else float("nan")
    print(
        f"\nSUMMARY throughput: graphql {graphql.rps:.0f} req/s, plain {plain.rps:.0f} req/s, "
        f"graphql/plain = {ratio:.2f} (plain is {1 / ratio:.1f}x) at concurrency "
        f"{args.concurrency}"
    )
    return 1 if graphql.failures or plain.failures else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="measured s per target")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up s per target")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per target")
    parser.add_argument("--server-log-level", default="INFO")
    # Internal: run one server (started by this script as a subprocess).
    parser.add_argument("--serve", choices=["graphql", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def run_async(main: Coroutine[Any, Any, int]) -> int:
    """On uvloop when installed (as uvicorn uses it): the client must not be the bottleneck."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def main() -> int:
    args = parse_args()
    if args.serve:
        serve(args.serve, args.database_url, args.data_dir, args.server_log_level)
        return 0
    return run_async(bench(args))


if __name__ == "__main__":
    sys.exit(main())
