"""Requests per second: the full GraphQL stack vs a plain Starlette endpoint, same SQL.

Targets, each a real uvicorn server in its own subprocess on 127.0.0.1 (uvloop and
httptools when installed, one worker each), all using ``create_engine`` on a throw-away
PostgreSQL database seeded with 2 users, 3 profiles x 50 projects x 7 clips:

* ``graphql``: ``create_app`` of this work tree exactly as production builds it
  (``EDITAI_ENV=production`` settings, JSON logs at ``--server-log-level``, default INFO
  like ``editai serve``): JWT verification, profile resolution, a tenant session (hook +
  ``SET LOCAL ROLE`` + ``set_config``, i.e. row-level security), strawberry.
* ``graphql@<commit>`` (with ``--baseline REF``): the same, built from REF: the commit is
  checked out in a temporary git worktree and the server runs on the same ``.venv``
  Python with ``PYTHONPATH=<worktree>/src`` (each server prints the ``editai.__file__`` it
  imported, checked here). It shares the database when REF's migrations give the same
  schema (compared table by table), else it gets its own, migrated and seeded by REF's code
  with the same ids.
* ``plain``: one Starlette route per query shape running the same SQL in a plain
  ``AsyncSession`` and returning the same JSON. No auth, no tenancy, no GraphQL.

Query shapes (``--query flat|nested|both``):

* ``flat``: ``projects(first: 20) { edges { node { id name status createdAt } } }``;
* ``nested``: the same plus ``clips(first: 5) { edges { node { id startSeconds status } } }``
  (plain: the projects page, then the clips of those projects in one window-function
  query, as ``ClipRepository.first_per_project`` does).

The load generator (``--client``): wrk when it is on PATH (Debian's ``wrk``, C, one thread;
bench/_wrk.py), which leaves the two cores to the servers and PostgreSQL; else this
process, a minimal asyncio client. Either way ``--concurrency`` keep-alive HTTP/1.1
connections, and every answer checked (status 200, no ``"errors"``). Per query shape: every
target's answer is compared first (equal JSON, or exit 1), then ``--warmup`` seconds per
target, then ``--rounds`` measured rounds per target, alternating between the targets (the
order reversed every other round), totalling ``--duration`` seconds per target. Printed
per target: req/s, latency, the server's CPU time per request (``/proc/<pid>/stat`` over
its measured rounds) and its peak RSS during that query shape (``VmHWM``); then the
ratios graphql/plain and graphql/graphql@<commit>, all from the same run.

    .venv/bin/python bench/throughput.py [--query both] [--baseline REF] [--duration 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import httpx

from _common import (
    REPO_ROOT,
    Checkout,
    SeededUser,
    create_postgres_database,
    describe_work_tree,
    deterministic_ids,
    drop_postgres_database,
    git_checkout,
    machine_note,
    make_settings,
    migrated_engine,
    now,
    peak_rss_bytes,
    postgres_database,
    process_cpu_seconds,
    reset_peak_rss,
    resolve_commit,
    schema_fingerprint,
    scratch_dir,
    seed_user,
    sessions_for,
)
from _wrk import wrk_load, wrk_path

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from editai.settings import Settings

HOST = "127.0.0.1"
CURRENT_SRC = REPO_ROOT / "src"
# Issue 8's data set: 2 users, 3 profiles (two of the first user, one of the second).
PROJECTS_PER_PROFILE = 50
PROFILES_OF_USERS = ([PROJECTS_PER_PROFILE, PROJECTS_PER_PROFILE], [PROJECTS_PER_PROFILE])
CLIPS_PER_PROJECT = 7
PAGE = 20
CLIPS_PAGE = 5
_FLAT_NODE = "id name status createdAt"
_CLIPS = f"clips(first: {CLIPS_PAGE}) {{ edges {{ node {{ id startSeconds status }} }} }}"
QUERIES = {
    "flat": f"{{ projects(first: {PAGE}) {{ edges {{ node {{ {_FLAT_NODE} }} }} }} }}",
    "nested": f"{{ projects(first: {PAGE}) {{ edges {{ node {{ {_FLAT_NODE} {_CLIPS} }} }} }} }}",
}
PLAIN_PATHS = {"flat": "/projects", "nested": "/projects-with-clips"}


# --------------------------------------------------------------------------- child processes
# They run this file again; a baseline's child imports that commit's ``editai`` (PYTHONPATH),
# so everything from ``editai`` is imported inside the functions that need it.


def announce_editai() -> None:
    """First line of every child's stdout: which ``editai`` it runs (checked by the parent)."""
    import editai

    print(f"EDITAI {editai.__file__}", flush=True)


def plain_app(settings: Settings, database_url: str) -> Starlette:
    """The ``plain`` target: the same SQL as the product, no auth, no tenancy, no GraphQL."""
    from sqlalchemy import Select, func, select
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from sqlalchemy.orm import aliased
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from editai.clips.models import Clip
    from editai.db.engine import create_engine
    from editai.projects.models import Project

    engine = create_engine(settings, database_url)
    maker = async_sessionmaker(engine, expire_on_commit=False)

    def projects_page(profile_id: uuid.UUID) -> Select[Project]:
        # ProjectRepository.list_for_profile, with the filter the tenant hook adds.
        return (
            select(Project)
            .where(Project.profile_id == profile_id)
            .order_by(Project.created_at.desc(), Project.id.desc())
            .limit(PAGE + 1)
        )

    def first_clips(profile_id: uuid.UUID, project_ids: list[uuid.UUID]) -> Select[Clip]:
        # ClipRepository.first_per_project for the loader's limit (first + 1), with the
        # filter the tenant hook adds.
        rank = (
            func.row_number()
            .over(partition_by=Clip.project_id, order_by=(Clip.created_at.desc(), Clip.id.desc()))
            .label("rank")
        )
        ranked = (
            select(Clip, rank)
            .where(Clip.profile_id == profile_id, Clip.project_id.in_(project_ids))
            .subquery()
        )
        clip = aliased(Clip, ranked)
        return (
            select(clip)
            .where(ranked.c.rank <= CLIPS_PAGE + 1)
            .order_by(ranked.c.project_id, ranked.c.rank)
        )

    def project_node(p: Project) -> dict[str, Any]:
        return {
            "id": str(p.id),
            "name": p.name,
            "status": p.status.value,
            "createdAt": p.created_at.isoformat(),
        }

    def answer(nodes: list[dict[str, Any]]) -> JSONResponse:
        return JSONResponse({"data": {"projects": {"edges": [{"node": n} for n in nodes]}}})

    async def projects(request: Request) -> JSONResponse:
        profile_id = uuid.UUID(request.headers["x-profile-id"])
        async with maker() as session:
            rows = (await session.scalars(projects_page(profile_id))).all()
        return answer([project_node(p) for p in rows[:PAGE]])

    async def projects_with_clips(request: Request) -> JSONResponse:
        profile_id = uuid.UUID(request.headers["x-profile-id"])
        async with maker() as session:
            rows = (await session.scalars(projects_page(profile_id))).all()[:PAGE]
            clips = (await session.scalars(first_clips(profile_id, [p.id for p in rows]))).all()
        grouped: dict[uuid.UUID, list[Clip]] = defaultdict(list)
        for c in clips:
            grouped[c.project_id].append(c)
        nodes = []
        for p in rows:
            clip_nodes = [
                {"id": str(c.id), "startSeconds": c.start_seconds, "status": c.status.value}
                for c in grouped[p.id][:CLIPS_PAGE]
            ]
            nodes.append({**project_node(p), "clips": {"edges": [{"node": n} for n in clip_nodes]}})
        return answer(nodes)

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    routes = [
        Route(PLAIN_PATHS["flat"], projects),
        Route(PLAIN_PATHS["nested"], projects_with_clips),
        Route("/health", health),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def serve(kind: str, database_url: str, data_dir: Path, log_level: str) -> None:
    """Child process: build the target app, bind 127.0.0.1:0, print the port, serve."""
    announce_editai()
    import uvicorn

    # Every mapper registered before the first query, as in the parent (whose migration
    # imports them): relationships name classes of domains the schema may not import yet.
    import editai.db.models  # noqa: F401
    from editai.app import create_app
    from editai.logging import configure_logging
    from editai.settings import Environment

    settings = make_settings(data_dir, database_url, env=Environment.production)
    configure_logging(log_level, settings.logs_as_json)
    app = create_app(settings) if kind == "graphql" else plain_app(settings, database_url)
    if kind == "graphql":
        # As editai serve does (editai/process_tuning.py; absent from old commits).
        try:
            from editai.process_tuning import freeze_startup_objects
        except ImportError:
            pass
        else:
            freeze_startup_objects()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


async def seed(settings: Settings, seed_key: str) -> list[SeededUser]:
    """Issue 8's rows, with ids from ``seed_key``: every database seeded with one key is alike."""
    new_id = deterministic_ids(seed_key)
    async with migrated_engine(settings) as engine:
        sessions = sessions_for(engine, settings)
        return [
            await seed_user(
                sessions,
                settings,
                profiles,
                clips_per_project=CLIPS_PER_PROJECT,
                segments_per_project=0,
                new_id=new_id,
            )
            for profiles in PROFILES_OF_USERS
        ]


async def prepare_database(database_url: str, data_dir: Path, seed_key: str | None) -> None:
    """Child process: migrate the database with this ``editai``'s migrations (and seed it)."""
    announce_editai()
    settings = make_settings(data_dir, database_url)
    if seed_key is None:
        async with migrated_engine(settings):
            pass
    else:
        await seed(settings, seed_key)


# --------------------------------------------------------------------------- parent side


def child_env(src: Path) -> dict[str, str]:
    """The environment of a child that must import ``editai`` from ``src``."""
    env = dict(os.environ)
    if src != CURRENT_SRC:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH")) if p)
    return env


def imported_from(line: str, src: Path, who: str) -> Path:
    """The ``editai`` a child announced; exits unless it is the one under ``src``."""
    if not line.startswith("EDITAI "):
        raise SystemExit(f"{who}: expected the EDITAI line first, got {line!r}")
    path = Path(line.removeprefix("EDITAI ").strip()).resolve()
    if not path.is_relative_to(src.resolve()):
        raise SystemExit(f"{who} imported editai from {path}, not from {src}")
    return path


def run_prepare(src: Path, database_url: str, tmp: Path, seed_key: str | None) -> None:
    """Migrate (and with ``seed_key`` seed) a database with the ``editai`` under ``src``."""
    command = [sys.executable, __file__, "--prepare-database", database_url]
    command += ["--data-dir", str(tmp / "prepare")]
    if seed_key is not None:
        command += ["--seed-key", seed_key]
    result = subprocess.run(
        command, env=child_env(src), capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"preparing {database_url} with {src} failed:\n{result.stderr}")
    imported_from(result.stdout.splitlines()[0] if result.stdout else "", src, "prepare")


@dataclass
class Server:
    name: str  # "graphql", "graphql@<commit>", "plain"
    kind: str  # "graphql" or "plain"
    process: subprocess.Popen[str]
    port: int
    editai_file: Path
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

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


def start_server(
    name: str, kind: str, src: Path, database_url: str, tmp: Path, log_level: str
) -> Server:
    slug = name.replace("@", "-")
    log_path = tmp / f"server-{slug}.log"
    log_file: TextIO
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                kind,
                "--database-url",
                database_url,
                "--data-dir",
                str(tmp / slug),
                "--server-log-level",
                log_level,
            ],
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
            env=child_env(src),
        )
    assert process.stdout is not None
    try:
        editai_file = imported_from(process.stdout.readline(), src, f"{name} server")
        line = process.stdout.readline().strip()
        if not line.startswith("PORT "):
            raise SystemExit(f"{name} server did not start:\n{log_path.read_text()}")
    except BaseException:
        process.kill()
        process.wait()
        raise
    return Server(name, kind, process, int(line.split()[1]), editai_file, log_path)


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
    raise SystemExit(f"{server.name} server not ready:\n{server.log_tail()}")


async def baseline_database(
    checkout: Checkout, current_url: str, seed_key: str, mode: str, tmp: Path, stack: AsyncExitStack
) -> tuple[str, str]:
    """The database the baseline server uses, and why.

    The baseline's own migrations are run on an empty database first: when they give the
    schema the current migrations gave (and ``mode`` is ``auto``), the baseline shares the
    seeded database; otherwise that database is seeded by the baseline's code, same ids.
    """
    url = await create_postgres_database()
    stack.push_async_callback(drop_postgres_database, url)
    run_prepare(checkout.src, url, tmp, None)
    ours, theirs = await schema_fingerprint(current_url), await schema_fingerprint(url)
    if ours == theirs and mode == "auto":
        await drop_postgres_database(url)
        return current_url, "the same database: its migrations give the same schema"
    run_prepare(checkout.src, url, tmp, seed_key)
    why = (
        f"{len(set(ours) ^ set(theirs))} schema lines differ"
        if ours != theirs
        else "same schema, --baseline-database separate"
    )
    return url, f"its own database, migrated and seeded by {checkout.short}'s code ({why})"


# --------------------------------------------------------------------------- load generator


@dataclass
class Target:
    """One query shape sent to one server."""

    server: Server
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""

    def raw_request(self) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {HOST}:{self.server.port}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        if self.body:
            lines += ["Content-Type: application/json", f"Content-Length: {len(self.body)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body

    async def fetch(self) -> bytes:
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{self.server.port}") as client:
            response = await client.request(
                self.method,
                self.path,
                headers={**self.headers, "Content-Type": "application/json"},
                content=self.body or None,
            )
        response.raise_for_status()
        return response.content


def make_target(server: Server, query: str, user: SeededUser) -> Target:
    profile = user.profiles[0]
    if server.kind == "graphql":
        body = json.dumps({"query": QUERIES[query]}).encode()
        return Target(server, "POST", "/graphql", user.headers(profile), body)
    return Target(server, "GET", PLAIN_PATHS[query], {"X-Profile-Id": str(profile.id)})


@dataclass
class Run:
    requests: int = 0
    seconds: float = 0.0
    failures: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0  # the server's, over the measured rounds
    peak_rss_bytes: int = 0
    # wrk (bench/_wrk.py) reports each round's percentiles, not each request's latency:
    # (requests, p50 ms, p99 ms) per round.
    round_percentiles: list[tuple[int, float, float]] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.requests if self.requests else float("nan")

    def percentile(self, q: float) -> float:
        if not self.latencies_ms and self.round_percentiles and q in (0.5, 0.99):
            column = 1 if q == 0.5 else 2  # weighted by each round's requests
            total = sum(r[0] for r in self.round_percentiles) or 1
            return sum(r[0] * r[column] for r in self.round_percentiles) / total
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
    pid = target.server.pid
    cpu_before = process_cpu_seconds(pid)
    started = now()
    deadline = started + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(HOST, target.server.port)
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
        run.cpu_seconds += process_cpu_seconds(pid) - cpu_before


async def load_by(
    client: str, target: Target, seconds: float, concurrency: int, run: Run | None
) -> None:
    """``load`` sent by ``client``: "python" (``load``) or "wrk" (bench/_wrk.py)."""
    if client == "python":
        await load(target, seconds, concurrency, run)
        return
    cpu_before = process_cpu_seconds(target.server.pid)
    got = await wrk_load(target, seconds, concurrency)
    if run is not None:
        run.requests += int(got["requests"])
        run.seconds += got["duration_us"] / 1e6
        run.failures += int(got["failed"] + got["socket_errors"])
        run.round_percentiles.append(
            (int(got["requests"]), got["p50_us"] / 1000, got["p99_us"] / 1000)
        )
        run.cpu_seconds += process_cpu_seconds(target.server.pid) - cpu_before


def client_of(args: argparse.Namespace) -> str:
    """``--client``, or wrk when it is on PATH, else the Python client."""
    chosen: str = args.client or ("wrk" if wrk_path() else "python")
    return chosen


CLIENT_NAMES = {"wrk": "wrk (C, one thread)", "python": "one Python asyncio client process"}


# --------------------------------------------------------------------------- checks and report


def answer_problem(query: str, answers: dict[str, bytes]) -> str | None:
    """Why the targets' answers to ``query`` are not one and the same page, or None."""
    canonical = {name: json.dumps(json.loads(a), sort_keys=True) for name, a in answers.items()}
    first_name, first = next(iter(canonical.items()))
    for name, text in canonical.items():
        if text != first:
            return f"{name} answers differently from {first_name}:\n  {text[:300]}\n  {first[:300]}"
    document = json.loads(answers[first_name])
    if "errors" in document:
        return f"the answer has errors: {document['errors']}"
    nodes = [e["node"] for e in document["data"]["projects"]["edges"]]
    if len(nodes) != PAGE:
        return f"{len(nodes)} projects, expected {PAGE}"
    if query == "nested" and any(len(n["clips"]["edges"]) != CLIPS_PAGE for n in nodes):
        return f"a project without {CLIPS_PAGE} clips"
    return None


def ratio(a: Run, b: Run) -> float:
    return a.rps / b.rps if b.rps else float("nan")


async def bench(args: argparse.Namespace) -> int:
    machine = machine_note()
    client = client_of(args)
    if args.baseline:
        resolve_commit(args.baseline)  # a wrong REF fails before any set-up
    queries = ["flat", "nested"] if args.query == "both" else [args.query]
    seed_key = uuid.uuid4().hex
    runs: dict[tuple[str, str], Run] = {}
    byte_identical: dict[str, bool] = {}
    notes: list[str] = []
    with scratch_dir() as tmp:
        async with AsyncExitStack() as stack:
            url = await stack.enter_async_context(postgres_database())
            settings = make_settings(tmp, url)
            users = await seed(settings, seed_key)
            specs: list[tuple[str, str, Path, str]] = [("graphql", "graphql", CURRENT_SRC, url)]
            notes.append(f"graphql: this work tree ({describe_work_tree()})")
            baseline_name: str | None = None
            if args.baseline:
                checkout = stack.enter_context(git_checkout(args.baseline, tmp))
                baseline_name = f"graphql@{checkout.short}"
                b_url, why = await baseline_database(
                    checkout, url, seed_key, args.baseline_database, tmp, stack
                )
                specs.append((baseline_name, "graphql", checkout.src, b_url))
                notes.append(f"{baseline_name}: {checkout.short} {checkout.subject!r}; {why}")
            specs.append(("plain", "plain", CURRENT_SRC, url))
            servers: list[Server] = []
            try:
                for name, kind, src, db_url in specs:
                    log_level = args.server_log_level
                    servers.append(start_server(name, kind, src, db_url, tmp, log_level))
                for server in servers:
                    await wait_ready(server)
                peak_reset = True
                for query in queries:
                    targets = [make_target(s, query, users[0]) for s in servers]
                    answers = {t.server.name: await t.fetch() for t in targets}
                    if problem := answer_problem(query, answers):
                        print(f"{query}: {problem}")
                        return 1
                    if baseline_name is not None:
                        byte_identical[query] = answers["graphql"] == answers[baseline_name]
                    for target in targets:
                        runs[query, target.server.name] = Run()
                    # Each query shape's own peak, not the previous one's.
                    peak_reset = all([reset_peak_rss(s.pid) for s in servers]) and peak_reset
                    for target in targets:
                        await load_by(client, target, args.warmup, args.concurrency, None)
                    for round_index in range(args.rounds):
                        order = targets if round_index % 2 == 0 else targets[::-1]
                        for target in order:
                            run = runs[query, target.server.name]
                            seconds = args.duration / args.rounds
                            await load_by(client, target, seconds, args.concurrency, run)
                    for server in servers:
                        runs[query, server.name].peak_rss_bytes = peak_rss_bytes(server.pid)
            except BaseException:
                for server in servers:
                    print(f"--- {server.name} server log (tail) ---\n{server.log_tail()}")
                raise
            finally:
                for server in servers:
                    server.stop()
            editai_files = {s.name: s.editai_file for s in servers}

    names = [spec[0] for spec in specs]
    profiles = sum(len(p) for p in PROFILES_OF_USERS)
    print(
        f"Data: {len(PROFILES_OF_USERS)} users, {profiles} profiles x {PROJECTS_PER_PROFILE} "
        f"projects x {CLIPS_PER_PROJECT} clips, PostgreSQL; requests for one profile: "
        f"{PAGE} projects (nested: {CLIPS_PAGE} clips each). Same answer (JSON) from every target"
    )
    for note in notes:
        print(f"  {note}")
    for name, path in editai_files.items():
        print(f"  {name} server imported {path}")
    for query, same in byte_identical.items():
        print(f"  {query}: graphql and {baseline_name} answers byte-identical: {same}")
    print(f"Machine at start: {machine}; the client, the servers and PostgreSQL share the CPUs")
    print(
        f"Load: {args.concurrency} keep-alive connections from {CLIENT_NAMES[client]}, per query: "
        f"{args.warmup:g} s warm-up then {args.rounds} alternating rounds, {args.duration:g} s "
        f"measured per target; each server: 1 uvicorn process; GraphQL servers log at "
        f"{args.server_log_level}; CPU = the server process's user+system time over its "
        f"measured rounds / requests; peak RSS = VmHWM "
        + ("during that query's warm-up and rounds" if peak_reset else "since start (no reset)")
    )
    print(
        f"\n  {'query':<8}{'target':<18}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'CPU ms/req':>12}{'peak RSS MB':>13}{'fail':>6}"
    )
    failures = 0
    for query in queries:
        for name in names:
            run = runs[query, name]
            failures += run.failures
            print(
                f"  {query:<8}{name:<18}{run.requests:>9}{run.rps:>8.0f}"
                f"{run.percentile(0.5):>8.1f}{run.percentile(0.99):>8.1f}"
                f"{run.cpu_ms_per_request:>12.2f}{run.peak_rss_bytes / 2**20:>13.0f}"
                f"{run.failures:>6}"
            )
    print()
    summary: list[str] = []
    for query in queries:
        graphql, plain = runs[query, "graphql"], runs[query, "plain"]
        parts = [f"graphql/plain = {ratio(graphql, plain):.2f}"]
        if baseline_name is not None:
            baseline = runs[query, baseline_name]
            parts.append(f"graphql/{baseline_name} = {ratio(graphql, baseline):.2f}")
            parts.append(f"{baseline_name}/plain = {ratio(baseline, plain):.2f}")
        print(f"  {query:<8}" + ", ".join(parts))
        summary.append(
            f"{query} graphql {graphql.rps:.0f} req/s {graphql.cpu_ms_per_request:.2f} ms CPU/req "
            f"{graphql.peak_rss_bytes / 2**20:.0f} MB, plain {plain.rps:.0f} req/s, "
            + ", ".join(parts)
        )
    print(
        f"\nSUMMARY throughput: {'; '.join(summary)}; concurrency {args.concurrency}, "
        f"{args.duration:g} s per target, client {client}"
    )
    return 1 if failures else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--query", choices=["flat", "nested", "both"], default="both")
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also measure the GraphQL server of this git commit (e.g. 855aef2, HEAD~3)",
    )
    parser.add_argument(
        "--baseline-database",
        choices=["auto", "separate"],
        default="auto",
        help="auto: share the database when the baseline's migrations give the same schema",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--client",
        choices=["wrk", "python"],
        help="load generator (default: wrk when on PATH, else the Python client)",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="measured s per target")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up s per target")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per target")
    parser.add_argument("--server-log-level", default="INFO")
    # Internal: children started by this script (one server; preparing a database).
    parser.add_argument("--serve", choices=["graphql", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--prepare-database", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--seed-key", help=argparse.SUPPRESS)
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
    if args.prepare_database:
        asyncio.run(prepare_database(args.prepare_database, args.data_dir, args.seed_key))
        return 0
    return run_async(bench(args))


if __name__ == "__main__":
    sys.exit(main())
