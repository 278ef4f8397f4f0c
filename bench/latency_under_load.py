"""p95 latency of a GraphQL query while the embedded worker runs two FFmpeg exports, vs
the same p95 when the server is idle (one run).

The server is a real uvicorn process on 127.0.0.1 built like the ``graphql`` target of
``throughput.py`` (``create_app`` with production settings, embedded worker on with its
default concurrency of 2), plus a monitor on its event loop (``LoopMonitor``, read with
``GET /_loop``), on a throw-away PostgreSQL database. Set-up through its API: a 60 s
1280x720 video uploaded, two 30 s clips cut in fast mode (stream copy). Seeded beside
it: 30 projects, so ``projects(first: 20)`` returns a full page.

Phases, each ``--requests`` requests of
``projects(first: 20) { edges { node { id name status createdAt } } }`` sent back to back
on one keep-alive connection (bounded loop, 127.0.0.1 only), then ``--quiet-seconds``
without requests (what the server's loop does on its own):

1. ``idle``: nothing else runs (after a warm-up of 50 requests).
2. ``loaded``: two ``exportClips`` jobs (one clip each, ``height: 1080``: scaling,
   loudness normalization, libx264 at 1080p of 30 s) both RUNNING and past their
   loudness pass; checked to be still RUNNING when the phase ends, else the run is
   invalid (exit status 1). The jobs are then cancelled.
3. ``external`` (control): the same two exports (``export_clip`` on the same files) run
   by this benchmark process instead of the server, so the server's event loop has
   nothing to do with them: what is left is the machine's CPUs being busy. A ``loaded``
   p95 close to the ``external`` one means the worker costs the event loop nothing.

Prints p50/p95/max of each phase with how busy the CPUs were and the loop monitor's
figures, and a SUMMARY line with loaded/idle (target <= 2: the event loop stays free
while FFmpeg works), loaded/external and the loop CPU the worker used on its own.

    .venv/bin/python bench/latency_under_load.py [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

import editai
from _common import (
    machine_note,
    make_settings,
    make_test_video,
    migrated_engine,
    now,
    postgres_database,
    scratch_dir,
    seed_user,
    sessions_for,
)
from editai.media.storage import LocalStore
from editai.media.storage.keys import clip_key
from throughput import HOST, QUERIES, Server, Target, _read_response, wait_ready

QUERY = QUERIES["flat"]

TARGET = 2.0
WARMUP = 50
EXPORT = {"height": 1080}
JOB_FIELDS = "{ status progress error }"


# --------------------------------------------------------------------------- server


class LoopMonitor:
    """Ticks of ``asyncio.sleep(TICK)`` on the server's event loop: how late each wakes
    (wall clock) and how much CPU the loop's thread used meanwhile (``thread_time``).

    Late with little CPU: the process waited for a CPU (contention). Late with much CPU:
    something ran on the loop for that long (blocking it)."""

    TICK = 0.01

    def __init__(self) -> None:
        self.late_ms: list[float] = []
        self.cpu_ms: list[float] = []

    async def run(self) -> None:
        while True:
            wall, cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(self.TICK)
            self.late_ms.append((time.perf_counter() - wall - self.TICK) * 1000)
            self.cpu_ms.append((time.thread_time() - cpu) * 1000)

    def take(self) -> dict[str, float]:
        late, cpu = self.late_ms, self.cpu_ms
        self.late_ms, self.cpu_ms = [], []
        seconds = len(late) * self.TICK + sum(late) / 1000
        return {
            "ticks": len(late),
            "late_p95_ms": percentile(late, 95) if late else 0.0,
            "late_max_ms": max(late, default=0.0),
            "cpu_ms_per_s": sum(cpu) / seconds if seconds else 0.0,
            "cpu_max_tick_ms": max(cpu, default=0.0),
        }


def serve(database_url: str, data_dir: Path, log_level: str) -> None:
    """Child process: ``create_app`` as ``throughput.py``'s graphql target (production
    settings, embedded worker), plus ``GET /_loop``: the loop monitor's figures since the
    previous call."""
    import uvicorn

    import editai.db.models  # noqa: F401 - every mapper registered
    from editai.app import create_app
    from editai.logging import configure_logging
    from editai.settings import Environment

    settings = make_settings(data_dir, database_url, env=Environment.production)
    configure_logging(log_level, settings.logs_as_json)
    app = create_app(settings)
    monitor = LoopMonitor()

    async def with_monitor(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_loop":
            body = json.dumps(monitor.take()).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(with_monitor, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)

    async def main() -> None:
        watching = asyncio.create_task(monitor.run())
        try:
            await server.serve(sockets=[sock])
        finally:
            watching.cancel()

    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(main())


def start_server(database_url: str, tmp: Path, log_level: str) -> Server:
    log_path = tmp / "server.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, __file__, "--serve", "--database-url", database_url,
             "--data-dir", str(tmp / "server"), "--server-log-level", log_level],
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if not line.startswith("PORT "):
        process.kill()
        raise SystemExit(f"server did not start:\n{log_path.read_text()}")
    return Server(
        "graphql", "graphql", process, int(line.split()[1]), Path(editai.__file__), log_path
    )


async def external_export(source: Path, out: Path, progress: list[float], index: int) -> None:
    """The export FFmpeg work of one job (``export_clip``), run outside the server."""
    from editai.media.binaries import find_binaries
    from editai.media.export import export_clip
    from editai.media.ffmpeg import probe_video

    duration = (await probe_video(find_binaries(), source)).duration_seconds

    async def report(value: float) -> None:
        progress[index] = value

    await export_clip(
        find_binaries(),
        source,
        out,
        height=int(EXPORT["height"]),
        subtitle_text=None,
        mute_ranges=[],
        duration=duration,
        on_progress=report,
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def latencies(target: Target, count: int) -> list[float]:
    """``count`` requests back to back on one keep-alive connection; ms each."""
    request = target.raw_request()
    reader, writer = await asyncio.open_connection(HOST, target.server.port)
    measured: list[float] = []
    try:
        for _ in range(count):
            t0 = now()
            writer.write(request)
            status, body = await _read_response(reader)
            measured.append((now() - t0) * 1000)
            if status != 200 or b'"errors"' in body:
                raise SystemExit(f"request failed: {status} {body[:300]!r}")
    finally:
        writer.close()
        await writer.wait_closed()
    return measured


def cpu_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


@dataclass
class Phase:
    name: str
    latencies: list[float]
    cpu_busy: float  # all CPUs, 0..1, while the requests ran
    loop: dict[str, float]  # the server's loop monitor while the requests ran
    quiet: dict[str, float]  # ... and in the window without requests that followed

    def describe(self) -> str:
        def loop(stats: dict[str, float]) -> str:
            return (
                f"late {stats['late_p95_ms']:5.1f}/{stats['late_max_ms']:5.1f} ms, "
                f"CPU {stats['cpu_ms_per_s']:5.1f} ms/s (max {stats['cpu_max_tick_ms']:4.1f})"
            )

        values = self.latencies
        return (
            f"  {self.name:<9}{len(values):>5}{statistics.median(values):>8.1f}"
            f"{percentile(values, 95):>8.1f}{max(values):>8.1f}{self.cpu_busy * 100:>5.0f}%"
            f"   {loop(self.loop)} | {loop(self.quiet)}"
        )


async def bench(args: argparse.Namespace) -> int:
    machine = machine_note()
    with scratch_dir() as tmp:
        source = tmp / "source.mp4"
        await make_test_video(source, 60)
        async with postgres_database() as url:
            settings = make_settings(tmp, url)
            async with migrated_engine(settings) as engine:
                user = await seed_user(
                    sessions_for(engine, settings), settings, [30], clips_per_project=0
                )
            profile = user.profiles[0]
            headers = user.headers(profile)
            server: Server = start_server(url, tmp, args.server_log_level)
            try:
                await wait_ready(server)
                base = f"http://{HOST}:{server.port}"
                async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as api:

                    async def gql(query: str, **variables: Any) -> dict[str, Any]:
                        body = (
                            await api.post(
                                "/graphql", json={"query": query, "variables": variables}
                            )
                        ).json()
                        if body.get("errors"):
                            raise SystemExit(f"GraphQL errors: {body['errors']}")
                        data: dict[str, Any] = body["data"]
                        return data

                    async def job(job_id: str) -> dict[str, Any]:
                        found: dict[str, Any] = (
                            await gql(f"query($id: ID!) {{ job(id: $id) {JOB_FIELDS} }}", id=job_id)
                        )["job"]
                        return found

                    async def until(
                        job_ids: list[str], done: Any, what: str, *, ending: bool = False
                    ) -> None:
                        """Poll until ``done`` holds for every job (``ending``: waiting for
                        them to end, so an ended job is no failure)."""
                        deadline = time.monotonic() + 300
                        while True:
                            states = [await job(j) for j in job_ids]
                            if all(done(s) for s in states):
                                return
                            ended = ("FAILED", "CANCELLED")
                            if not ending and any(s["status"] in ended for s in states):
                                raise SystemExit(f"a job ended while waiting for {what}: {states}")
                            if time.monotonic() > deadline:
                                raise SystemExit(f"timed out waiting for {what}")
                            await asyncio.sleep(0.2)

                    project_id = str(profile.project_ids[0])
                    uploaded = await api.post(
                        "/graphql",
                        headers={"Apollo-Require-Preflight": "true"},
                        data={
                            "operations": json.dumps(
                                {
                                    "query": "mutation($p: ID!, $f: Upload!) { "
                                    "uploadSourceVideo(projectId: $p, file: $f) { id } }",
                                    "variables": {"p": project_id, "f": None},
                                }
                            ),
                            "map": json.dumps({"0": ["variables.f"]}),
                        },
                        files={"0": ("source.mp4", source.read_bytes())},
                    )
                    if uploaded.json().get("errors"):
                        raise SystemExit(f"upload failed: {uploaded.json()}")
                    cut = await gql(
                        "mutation($p: ID!) { generateRawClips(projectId: $p, input: "
                        "{variantCount: 2, clipSeconds: 30, aspect: SOURCE}) { id } }",
                        p=project_id,
                    )
                    cut_id = cut["generateRawClips"]["id"]
                    await until([cut_id], lambda j: j["status"] == "SUCCEEDED", "the cuts")
                    clips = await gql(
                        "query($p: ID!) { project(id: $p) { clips { edges { node { id } } } } }",
                        p=project_id,
                    )
                    clip_ids = [e["node"]["id"] for e in clips["project"]["clips"]["edges"]]
                    assert len(clip_ids) == 2, clip_ids

                    target = Target(
                        server,
                        "POST",
                        "/graphql",
                        headers,
                        json.dumps({"query": QUERY}).encode(),
                    )

                    async def loop_stats() -> dict[str, float]:
                        stats: dict[str, float] = (await api.get("/_loop")).json()
                        return stats

                    async def measure(name: str) -> Phase:
                        await loop_stats()  # reset
                        before = cpu_busy()
                        measured = await latencies(target, args.requests)
                        after = cpu_busy()
                        busy = (after[0] - before[0]) / max(after[1] - before[1], 1)
                        with_requests = await loop_stats()
                        await asyncio.sleep(args.quiet_seconds)
                        return Phase(name, measured, busy, with_requests, await loop_stats())

                    await latencies(target, WARMUP)
                    phases = [await measure("idle")]

                    export_ids = []
                    for clip_id in clip_ids:
                        started = await gql(
                            "mutation($c: ID!, $i: ExportClipsInput) "
                            "{ exportClips(clipIds: [$c], input: $i) { id } }",
                            c=clip_id,
                            i=EXPORT,
                        )
                        export_ids.append(started["exportClips"]["id"])
                    # Both encoding (past the loudness measurement, 20 % of the bar).
                    await until(
                        export_ids,
                        lambda j: j["status"] == "RUNNING" and j["progress"] > 0.25,
                        "both exports to encode",
                    )
                    phases.append(await measure("loaded"))
                    states = [await job(j) for j in export_ids]
                    for export_id in export_ids:
                        if (await job(export_id))["status"] not in ("QUEUED", "RUNNING"):
                            continue  # finished during the measurement (see the states line)
                        await gql(
                            f"mutation($id: ID!) {{ cancelJob(id: $id) {JOB_FIELDS} }}",
                            id=export_id,
                        )
                    await until(
                        export_ids,
                        lambda j: j["status"] in ("CANCELLED", "SUCCEEDED"),
                        "the cancellations",
                        ending=True,
                    )
                    # Control: the same two exports run by this process, not the server.
                    storage = LocalStore(tmp / "server" / "media", "unused")
                    external_progress = [0.0, 0.0]
                    exports = [
                        asyncio.create_task(
                            external_export(
                                storage.resolve(
                                    clip_key(profile.id, profile.project_ids[0], UUID(c))
                                ),
                                tmp / f"external-{i}.mp4",
                                external_progress,
                                i,
                            )
                        )
                        for i, c in enumerate(clip_ids)
                    ]
                    deadline = time.monotonic() + 300
                    while min(external_progress) <= 0.25:
                        if any(t.done() for t in exports) or time.monotonic() > deadline:
                            raise SystemExit("the external exports did not get going")
                        await asyncio.sleep(0.2)
                    phases.append(await measure("external"))
                    external_running = not any(t.done() for t in exports)
                    for task in exports:
                        task.cancel()
                    await asyncio.gather(*exports, return_exceptions=True)
            except BaseException:
                print(f"--- server log (tail) ---\n{server.log_tail()}")
                raise
            finally:
                server.stop()

    print(
        f"latency_under_load: {QUERY} on one keep-alive connection, {args.requests} requests "
        f"per phase; uvicorn server process with the embedded worker (concurrency 2), "
        f"PostgreSQL; {machine}; {os.cpu_count()} CPUs shared by client, server, FFmpeg, "
        f"PostgreSQL"
    )
    print(f"  load: two exportClips jobs {EXPORT} of a 30 s 1280x720 clip each")
    print(
        f"\n  {'phase':<9}{'reqs':>5}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'CPUs':>6}"
        f"   server loop with requests | {args.quiet_seconds:g} s without requests"
    )
    for phase in phases:
        print(phase.describe())
    print(
        "  (loop: wake-up lateness of a 10 ms sleep, p95/max; CPU the loop's thread used, "
        "ms per second and the most in one tick)"
    )
    print(
        "  exports when the loaded phase ended: "
        + ", ".join(f"{s['status']} {s['progress']:.2f}" for s in states)
    )
    if any(s["status"] != "RUNNING" for s in states) or not external_running:
        print("SUMMARY latency_under_load: INVALID (an export ended during the loaded phase)")
        return 1
    idle, loaded, external = (percentile(p.latencies, 95) for p in phases)
    ratio, control = loaded / idle, loaded / external
    quiet = phases[1].quiet
    verdict = "met" if ratio <= TARGET else "MISSED"
    print(
        f"SUMMARY latency_under_load: p95 {idle:.1f} ms idle, {loaded:.1f} ms with two 1080p "
        f"exports running in the server's worker, loaded/idle = {ratio:.2f} (target <= "
        f"{TARGET:g} {verdict}); same exports outside the server {external:.1f} ms "
        f"(loaded/external = {control:.2f}); the worker alone used the loop "
        f"{quiet['cpu_ms_per_s']:.1f} ms/s, at most {quiet['cpu_max_tick_ms']:.1f} ms at once"
    )
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=300, help="requests per phase (300)")
    parser.add_argument("--quiet-seconds", type=float, default=3.0, help="no-request windows")
    parser.add_argument("--server-log-level", default="INFO")
    # Internal: run the server (started by this script as a subprocess).
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.serve:
        serve(args.database_url, args.data_dir, args.server_log_level)
        return 0
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
