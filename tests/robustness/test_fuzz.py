"""Fuzz: every Query and Mutation field, generated from the schema, sent by concurrent
authenticated clients to a real server, on both databases (issue 7, point 5).

Budget per database: EDITAI_FUZZ_SECONDS, else 20 s with CI=true and 10 s otherwise
(bench/fuzz_rate.py measures the rate over 60 s).
The seed is printed; EDITAI_FUZZ_SEED replays the same operations (the interleaving of
the clients, and the ids they learn from answers, still vary).
"""

from __future__ import annotations

import os
import random
import time

import httpx

from tests.robustness.client import bearer
from tests.robustness.conftest import FIGURES, budget
from tests.robustness.fuzzing import run_fuzz
from tests.robustness.generation import load_schema, root_fields
from tests.robustness.server import (
    LISTEN_CONNECTIONS,
    POOL_SIZE,
    idle_in_transaction,
    settled_pg_connections,
)
from tests.robustness.stage import Stage

CLIENTS = int(os.environ.get("EDITAI_FUZZ_CLIENTS", "2"))


async def test_fuzz_every_field_finds_no_server_error(stage: Stage) -> None:
    seconds = budget("EDITAI_FUZZ_SECONDS", 20.0, 10.0)
    fuzz_seed = int(os.environ.get("EDITAI_FUZZ_SEED") or random.randrange(1 << 32))
    server = stage.server
    report = await run_fuzz(
        server.base_url,
        stage.world,
        seconds=seconds,
        clients=CLIENTS,
        base_seed=fuzz_seed,
        video=stage.video,
    )
    summary = f"fuzz [{server.backend}] seed {fuzz_seed}, {CLIENTS} clients: {report.describe(0)}"
    FIGURES.append(summary)
    print(summary)

    assert not report.failures, report.describe()
    missing = set(root_fields(load_schema())) - set(report.fields)
    assert not missing, f"fields never sent: {sorted(missing)}; {summary}"

    # The server is still itself: a public and an authenticated query answer at once
    # (in the user's default profile: the fuzz may have deleted any other).
    tenant = stage.world.tenants[0]
    async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as client:
        for query, headers in (
            ("{ health { status database } }", {}),
            (
                "{ currentProfile { id } projects(first: 5) { edges { node { id } } } }",
                bearer(tenant.token),
            ),
        ):
            started = time.monotonic()
            answer = await client.post("/graphql", json={"query": query}, headers=headers)
            took = time.monotonic() - started
            assert answer.status_code == 200, answer.text
            assert "errors" not in answer.json(), answer.text
            assert took < 1.0, f"{query} took {took:.2f} s after the fuzz"

    assert server.log_errors() == [], "\n".join(server.log_errors()[:20])

    if server.backend == "postgres":
        rows = await settled_pg_connections(server.database_url)
        assert not idle_in_transaction(rows), rows
        assert len(rows) <= POOL_SIZE + LISTEN_CONNECTIONS, rows
