"""p50/p95/p99 latency and req/s of the 50-client mixed load of
tests/robustness/test_concurrency.py (good reads, good writes, bad traffic; 3 users x 2
profiles) against ``editai serve`` on the embedded SQLite default and on PostgreSQL.

Prints per database the requests, req/s, latency percentiles overall and per kind of
traffic (read, write, bad), the count per action, and the unexpected answers and
cross-profile sightings (both must be 0). Exit status 1 if there are any.

    .venv/bin/python bench/load_mixed.py [--seconds 20] [--clients 50] [--database postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import random

from _robustness import DATABASES, bench_stage
from tests.robustness.load import percentile, run_load


async def bench(args: argparse.Namespace) -> int:
    summary: list[str] = []
    status = 0
    for backend in args.database or DATABASES:
        async with bench_stage(
            backend, users=3, profiles_per_user=2, projects_per_profile=4, media=False
        ) as stage:
            secret = stage.server.settings.jwt_secret
            assert secret is not None
            report = await run_load(
                stage.server.base_url,
                stage.world,
                clients=args.clients,
                seconds=args.seconds,
                base_seed=args.seed,
                jwt_secret=secret.get_secret_value(),
            )
            errors = stage.server.log_errors()
        print(f"== {backend}: {report.describe(shown=50)}")
        print(f"   server log: {len(errors)} error lines")
        values = report.latencies()
        p50, p95, p99 = (percentile(values, q) * 1000 for q in (50, 95, 99))
        summary.append(
            f"{backend} p50/p95/p99 {p50:.0f}/{p95:.0f}/{p99:.0f} ms, "
            f"{len(values) / report.seconds:.0f} req/s, {len(report.unexpected)} unexpected, "
            f"{len(report.leaks)} cross-profile, {len(errors)} log errors"
        )
        if report.unexpected or report.leaks or errors:
            status = 1
    print(
        f"\nSUMMARY load_mixed: {'; '.join(summary)}; {args.clients} clients, "
        f"{args.seconds:.0f} s, seed {args.seed}"
    )
    return status


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--database", action="append", choices=DATABASES)
    parser.add_argument("--seed", type=int, default=random.randrange(1 << 32))
    return parser.parse_args()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(bench(parse_args())))
