"""``editai serve --workers 2`` against ``editai serve --workers 1``: does a second core help?

Starts both servers with the real command line (``editai serve``, production settings
from ``EDITAI_*`` variables) on one throw-away PostgreSQL database seeded as in
``throughput.py`` (issue 8's rows), checks they answer the same, then sends each
``throughput.py``'s load for one query shape (``--query``, default flat) in
``--rounds`` alternating rounds of ``--duration / rounds`` seconds, after a warm-up.

Printed per server: requests, req/s, p50/p99 latency, failures, the CPU per request of
its whole process tree (the supervisor and its worker processes, ``/proc``), and the
peak RSS of its largest process. Then the ratio workers-2 / workers-1 of req/s, the
figure issue 8 asks to be at least 1.7 on a 2-core machine. The load generator and
PostgreSQL share those cores: the script prints the machine's CPU count and load. The
client is wrk when it is on PATH (``--client``; bench/_wrk.py), which leaves the cores to
the servers; else throughput.py's Python client.
Exit status 1 if a request failed or the answers differ.

    .venv/bin/python bench/workers.py [--query flat|nested] [--duration 20] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from _common import (
    BENCH_JWT_SECRET,
    BENCH_SECRET_KEY,
    machine_note,
    make_settings,
    postgres_database,
    scratch_dir,
)
from throughput import (
    CLIENT_NAMES,
    HOST,
    QUERIES,
    Run,
    client_of,
    load_by,
    make_target,
    run_async,
    seed,
    wait_ready,
)


@dataclass
class Served:
    """An ``editai serve`` process tree, shaped like ``throughput.Server`` for ``load``."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    kind: str = "graphql"

    @property
    def pid(self) -> int:
        return self.process.pid

    def tree(self) -> list[int]:
        """The supervisor and every process below it."""
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            ppid = int(text[text.rindex(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += children.get(pid, [])
        return found

    def tree_cpu_seconds(self) -> float:
        total = 0.0
        for pid in self.tree():
            try:
                text = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue  # gone meanwhile
            fields = text[text.rindex(")") + 2 :].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def peak_rss_mb(self) -> float:
        peaks = []
        for pid in self.tree():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks.append(int(line.split()[1]) / 1024)
            except OSError:
                continue
        return max(peaks, default=0.0)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start(workers: int, url: str, tmp: Path) -> Served:
    data = tmp / f"workers-{workers}"
    data.mkdir()
    env = {
        **os.environ,
        "EDITAI_ENV": "production",
        "EDITAI_DATABASE_URL": url,
        "EDITAI_DATA_DIR": str(data),
        "EDITAI_MEDIA_ROOT": str(data / "media"),
        "EDITAI_JWT_SECRET": BENCH_JWT_SECRET,
        "EDITAI_SECRET_KEY": BENCH_SECRET_KEY,
        "EDITAI_AUTO_MIGRATE": "false",
        "EDITAI_EMBEDDED_WORKER": "false",  # request serving only, as in throughput.py
    }
    port = free_port()
    log_path = tmp / f"serve-{workers}.log"
    editai = str(Path(sys.executable).with_name("editai"))
    command = [editai, "serve", "--workers", str(workers), "--host", HOST, "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    return Served(f"workers-{workers}", process, port, log_path)


async def wait_workers(server: Served, workers: int) -> None:
    await wait_ready(server)  # type: ignore[arg-type]
    for _ in range(200):  # every worker process up (the supervisor's children)
        if len(server.tree()) >= (1 if workers == 1 else workers + 1):
            return
        await asyncio.sleep(0.05)
    raise SystemExit(f"{server.name}: {workers} worker processes did not start")


async def bench(args: argparse.Namespace) -> int:
    machine = machine_note()
    runs: dict[str, Run] = {}
    rss: dict[str, float] = {}
    client = client_of(args)
    with scratch_dir() as tmp:
        async with AsyncExitStack() as stack:
            url = await stack.enter_async_context(postgres_database())
            users = await seed(make_settings(tmp, url), uuid.uuid4().hex)
            servers = [start(1, url, tmp), start(2, url, tmp)]
            for server in servers:
                stack.callback(server.stop)
            for server, workers in zip(servers, (1, 2), strict=True):
                await wait_workers(server, workers)
            targets = [make_target(s, args.query, users[0]) for s in servers]  # type: ignore[arg-type]
            answers = {t.server.name: await t.fetch() for t in targets}
            if len(set(answers.values())) != 1:
                print("the servers answer differently", file=sys.stderr)
                return 1
            for target in targets:
                await load_by(client, target, args.warmup, args.concurrency, None)
            per_round = args.duration / args.rounds
            for index in range(args.rounds):
                order = targets if index % 2 == 0 else targets[::-1]
                for target in order:
                    server: Served = target.server  # type: ignore[assignment]
                    run = runs.setdefault(server.name, Run())
                    cpu_before = server.tree_cpu_seconds()
                    spent_before = run.cpu_seconds
                    await load_by(client, target, per_round, args.concurrency, run)
                    # load() counts the supervisor only: the whole tree instead.
                    run.cpu_seconds = spent_before + server.tree_cpu_seconds() - cpu_before
            for server in servers:
                rss[server.name] = server.peak_rss_mb()
    print(f"Query {args.query}: {QUERIES[args.query]}")
    print(f"Machine: {machine}; the client, the servers and PostgreSQL share the CPUs")
    print(f"Client: {CLIENT_NAMES[client]}")
    print(
        f"Load: {args.concurrency} keep-alive connections, {args.warmup:g} s warm-up, "
        f"{args.rounds} alternating rounds, {args.duration:g} s per server; "
        "editai serve, production settings, embedded worker off\n"
    )
    print("  server     requests   req/s  p50 ms  p99 ms  CPU ms/req  peak RSS MB  fail")
    for name, run in runs.items():
        p50, p99 = run.percentile(0.5), run.percentile(0.99)
        print(
            f"  {name:<10} {run.requests:>8} {run.rps:>7.0f} {p50:>7.1f}"
            f" {p99:>7.1f} {run.cpu_ms_per_request:>11.2f}"
            f" {rss[name]:>12.0f} {run.failures:>5}"
        )
    one, two = runs["workers-1"], runs["workers-2"]
    scaling = two.rps / one.rps if one.rps else float("nan")
    print(f"\n  workers-2 / workers-1 = {scaling:.2f}")
    print(
        f"SUMMARY workers {args.query}: 1 worker {one.rps:.0f} req/s, 2 workers "
        f"{two.rps:.0f} req/s, ratio {scaling:.2f}; client {client}; {machine}"
    )
    return 1 if one.failures or two.failures else 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--query", choices=sorted(QUERIES), default="flat")
    parser.add_argument("--duration", type=float, default=20.0, help="measured s per server")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--client",
        choices=["wrk", "python"],
        help="load generator (default: wrk when on PATH, else throughput.py's Python client)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(run_async(bench(parse_args())))
