"""Where a GraphQL request's server CPU goes: py-spy on the server of ``throughput.py``.

Starts the ``graphql`` server of ``throughput.py`` (this work tree, or ``--ref REF``'s,
production settings) on a throw-away database seeded the same way, sends it the load of
``throughput.py`` for one query shape, and samples the server with ``py-spy record``
(``--rate`` Hz, idle frames excluded, so only CPU time) during ``--seconds`` of it. Prints:

* self time by package (the file's top-level package under site-packages, ``editai``, or
  the standard library);
* the top functions by self time;
* inclusive time of the frames named by ``--inclusive`` (default: the context, the
  execution, token verification, JSON encoding).

The raw collapsed stacks are kept with ``--keep DIR`` (flame graphs: ``py-spy``'s own
``--format speedscope`` is the same data). py-spy must be on PATH or in this Python's
``bin`` (it is a dev dependency). Needs ptrace on the child (root, or
``kernel.yama.ptrace_scope=0``).

    .venv/bin/python bench/profile_request.py --query flat [--ref 855aef2] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import uuid
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path

from _common import describe_work_tree, git_checkout, postgres_database, scratch_dir
from _pyspy import FrameStats, parse_collapsed
from throughput import (
    CURRENT_SRC,
    QUERIES,
    load,
    make_settings,
    make_target,
    run_async,
    seed,
    start_server,
    wait_ready,
)

DEFAULT_INCLUSIVE = [
    "get_context",
    "execute_operation",
    "verify",
    "encode_json",
    "process_result",
    "_lookup",
]


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("py-spy not found: ./scripts/bootstrap.sh installs the dev dependencies")
    return found


async def profile(args: argparse.Namespace) -> int:
    with scratch_dir() as tmp:
        async with AsyncExitStack() as stack:
            url = await stack.enter_async_context(postgres_database())
            users = await seed(make_settings(tmp, url), uuid.uuid4().hex)
            src, label = CURRENT_SRC, f"this work tree ({describe_work_tree()})"
            if args.ref:
                checkout = stack.enter_context(git_checkout(args.ref, tmp))
                src, label = checkout.src, f"{checkout.short} {checkout.subject!r}"
            server = start_server("graphql", "graphql", src, url, tmp, args.server_log_level)
            try:
                await wait_ready(server)
                target = make_target(server, args.query, users[0])
                await load(target, args.warmup, args.concurrency, None)
                raw = tmp / "profile.txt"
                spy = await asyncio.create_subprocess_exec(
                    *[
                        py_spy(),
                        "record",
                        "--pid",
                        str(server.pid),
                        "--rate",
                        str(args.rate),
                        "--duration",
                        str(int(args.seconds)),
                        "--format",
                        "raw",
                        "--output",
                        str(raw),
                        "--nonblocking",
                        "--full-filenames",
                    ],
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.PIPE,
                )
                # A little longer than py-spy samples: the load covers its whole window.
                await load(target, args.seconds + 1.0, args.concurrency, None)
                _, err = await spy.communicate()
                if spy.returncode != 0 or not raw.exists():
                    raise SystemExit(f"py-spy failed ({spy.returncode}): {err.decode().strip()}")
                stats = parse_collapsed(raw.read_text())
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    name = f"{args.query}-{args.ref or 'worktree'}.txt"
                    shutil.copy(raw, args.keep / name)
            finally:
                server.stop()
    report(stats, args, label)
    return 0


def report(stats: FrameStats, args: argparse.Namespace, label: str) -> None:
    print(f"Server: {label}; query {args.query}: {QUERIES[args.query]}")
    print(
        f"{stats.samples} samples at {args.rate} Hz over {args.seconds:g} s "
        f"(on CPU only), {args.concurrency} connections"
    )
    print("\nSelf time by package:")
    for package, count in stats.self_by_package.most_common(args.top):
        print(f"  {100 * count / stats.samples:5.1f}%  {package}")
    print("\nTop functions by self time:")
    for frame, count in stats.self_by_frame.most_common(args.top):
        print(f"  {100 * count / stats.samples:5.1f}%  {frame}")
    print("\nInclusive time:")
    inclusive: Counter[str] = stats.inclusive_of(args.inclusive)
    for name in args.inclusive:
        print(f"  {100 * inclusive[name] / stats.samples:5.1f}%  {name}")
    top = ", ".join(
        f"{package} {100 * count / stats.samples:.0f}%"
        for package, count in stats.self_by_package.most_common(6)
    )
    print(f"\nSUMMARY profile_request {args.query}: {top}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--query", choices=sorted(QUERIES), default="flat")
    parser.add_argument("--ref", help="profile the server of this git commit instead")
    parser.add_argument("--seconds", type=float, default=15.0, help="sampled seconds")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--inclusive", nargs="*", default=DEFAULT_INCLUSIVE)
    parser.add_argument("--server-log-level", default="INFO")
    parser.add_argument("--keep", type=Path, help="keep the collapsed stacks in this folder")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(run_async(profile(parse_args())))
