"""Concurrency: 50 clients of 3 users and 6 profiles send mixed good and bad traffic to a
real server at once, on both databases (issue 7, point 5).

Budget: EDITAI_LOAD_SECONDS, else 12 s. Figures of the same load, without asserts on
time: bench/load_mixed.py.
"""

from __future__ import annotations

import random
import time

import httpx

from tests.robustness.client import post
from tests.robustness.conftest import FIGURES, budget
from tests.robustness.load import CREATE, run_load
from tests.robustness.server import (
    LISTEN_CONNECTIONS,
    POOL_SIZE,
    idle_in_transaction,
    settled_pg_connections,
)
from tests.robustness.stage import Stage

CLIENTS = 50


async def test_mixed_load_of_50_clients_answers_every_request_as_documented(
    load_stage: Stage,
) -> None:
    server, world = load_stage.server, load_stage.world
    seconds = budget("EDITAI_LOAD_SECONDS", 12.0, 12.0)
    load_seed = random.randrange(1 << 32)
    secret = server.settings.jwt_secret
    assert secret is not None
    report = await run_load(
        server.base_url,
        world,
        clients=CLIENTS,
        seconds=seconds,
        base_seed=load_seed,
        jwt_secret=secret.get_secret_value(),
    )
    summary = f"load [{server.backend}] seed {load_seed}: {report.describe(0)}"
    FIGURES.append(summary)
    print(summary)

    assert not report.leaks, report.describe()
    assert not report.unexpected, report.describe()
    # Every kind of traffic was sent, by every client.
    assert {o.action for o in report.outcomes} >= {"list", "create", "nested_bad_cursor"}
    assert len(report.outcomes) >= 5 * CLIENTS, report.describe()

    # Nothing held afterwards: a write goes through at once (SQLite: no write lock kept),
    # and PostgreSQL shows no transaction left open, no connection beyond the pool.
    tenant = world.tenants[0]
    async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as client:
        started = time.monotonic()
        answer = await post(
            client, CREATE, {"input": {"name": f"{tenant.marker}:after"}}, tenant.headers()
        )
        took = time.monotonic() - started
    assert answer.status == 200, answer.short()
    assert not answer.errors, answer.short()
    assert took < 1.0, f"a write after the load took {took:.2f} s"
    if server.backend == "postgres":
        rows = await settled_pg_connections(server.database_url)
        assert not idle_in_transaction(rows), rows
        assert len(rows) <= POOL_SIZE + LISTEN_CONNECTIONS, rows
    assert server.log_errors() == [], "\n".join(server.log_errors()[:20])
