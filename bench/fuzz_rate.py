"""Fuzz cases per 60 s per database: the fuzz of tests/robustness/test_fuzz.py (every
Query and Mutation field from the schema, 2 authenticated clients, multipart uploads)
against ``editai serve`` on the embedded SQLite default and on PostgreSQL.

Prints per database the cases sent, the rate per 60 s, the error codes answered and
every failing case (5xx, INTERNAL_SERVER_ERROR, an undocumented code), then whether the
server's log has ERROR lines. Exit status 1 if anything failed.

    .venv/bin/python bench/fuzz_rate.py [--seconds 60] [--clients 2] [--database sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import random

from _robustness import DATABASES, bench_stage
from tests.robustness.fuzzing import default_generators, run_fuzz


async def bench(args: argparse.Namespace) -> int:
    summary: list[str] = []
    status = 0
    for backend in args.database or DATABASES:
        async with bench_stage(
            backend, users=2, profiles_per_user=2, projects_per_profile=3, media=True
        ) as stage:
            report = await run_fuzz(
                stage.server.base_url,
                stage.world,
                seconds=args.seconds,
                clients=args.clients,
                base_seed=args.seed,
                video=stage.video,
                generators=args.generators,
            )
            errors = stage.server.log_errors()
        print(f"== {backend}: {report.describe(failures_shown=50)}")
        print(f"   server log: {len(errors)} error lines")
        for line in errors[:20]:
            print(f"   | {line[:400]}")
        summary.append(
            f"{backend} {report.per_minute:.0f} cases/60 s ({len(report.failures)} failing, "
            f"{len(errors)} log errors)"
        )
        if report.failures or errors:
            status = 1
    print(
        f"\nSUMMARY fuzz_rate: {'; '.join(summary)}; {args.clients} clients, "
        f"{args.generators or default_generators()} generator processes, seed {args.seed}"
    )
    return status


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument(
        "--generators", type=int, default=None, help="drawing processes (default: cores - 1)"
    )
    parser.add_argument("--database", action="append", choices=DATABASES)
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 32))
    return parser.parse_args()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(bench(parse_args())))
