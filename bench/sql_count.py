"""SQL statements per ``projects(first: 50)`` request with nested fields: must not grow with N.

Seeds one user with two profiles (5 and 50 projects, each with clips and segments), then
sends the same GraphQL request for each profile through the real ASGI app
(``httpx.ASGITransport``) and counts the statements the engine sends to PostgreSQL
(``before_cursor_execute`` on ``engine.sync_engine``). Exit status 1 if the two counts
differ (an N+1) or the response is not what was seeded.

    .venv/bin/python bench/sql_count.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from _common import (
    SeededProfile,
    SeededUser,
    build_app,
    capture_statements,
    machine_note,
    make_settings,
    migrated_engine,
    now,
    postgres_database,
    quiet_logs,
    scratch_dir,
    seed_user,
    sessions_for,
    short_sql,
)

SMALL, LARGE = 5, 50
CLIPS_PER_PROJECT, SEGMENTS_PER_PROJECT = 7, 4

QUERY = """
query Projects {
  projects(first: 50) {
    edges {
      node {
        id
        name
        clips(first: 5) { edges { node { id startSeconds project { id } } } }
        segments { id kind }
        sourceVideo { durationSeconds }
      }
    }
  }
}
"""


async def count_request(
    engine: AsyncEngine, client: httpx.AsyncClient, user: SeededUser, profile: SeededProfile
) -> tuple[list[str], list[str], dict[str, Any]]:
    with capture_statements(engine) as log:
        response = await client.post(
            "/graphql", json={"query": QUERY}, headers=user.headers(profile)
        )
    body: dict[str, Any] = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise SystemExit(f"request failed: {response.status_code} {body}")
    return log.statements, log.cache, body


def check_shape(body: dict[str, Any], profile: SeededProfile) -> None:
    edges = body["data"]["projects"]["edges"]
    # Seeded created_at grows with the index; the connection is newest first.
    expected = list(reversed(profile.project_ids))
    got = [e["node"]["id"] for e in edges]
    if got != [str(i) for i in expected]:
        raise SystemExit(f"unexpected projects for profile {profile.id}: {got[:3]}...")
    for edge in edges:
        node = edge["node"]
        clips = node["clips"]["edges"]
        if len(clips) != min(5, CLIPS_PER_PROJECT):
            raise SystemExit(f"project {node['id']}: {len(clips)} clips")
        if any(c["node"]["project"]["id"] != node["id"] for c in clips):
            raise SystemExit(f"project {node['id']}: a clip points at another project")
        if len(node["segments"]) != SEGMENTS_PER_PROJECT or node["sourceVideo"] is None:
            raise SystemExit(f"project {node['id']}: segments/sourceVideo missing")


async def median_ms(
    client: httpx.AsyncClient, user: SeededUser, profile: SeededProfile, repeat: int = 7
) -> float:
    times: list[float] = []
    for _ in range(repeat):
        started = now()
        response = await client.post(
            "/graphql", json={"query": QUERY}, headers=user.headers(profile)
        )
        times.append((now() - started) * 1000)
        response.raise_for_status()
    return statistics.median(times)


async def main() -> int:
    quiet_logs()
    machine = machine_note()
    with scratch_dir() as tmp:
        async with postgres_database() as url:
            settings = make_settings(tmp, url)
            async with migrated_engine(settings) as engine:
                sessions = sessions_for(engine, settings)
                user = await seed_user(
                    sessions,
                    settings,
                    [SMALL, LARGE],
                    clips_per_project=CLIPS_PER_PROJECT,
                    segments_per_project=SEGMENTS_PER_PROJECT,
                )
                small, large = user.profiles
                app = build_app(settings, engine)
                transport = httpx.ASGITransport(app=app)
                async with (
                    app.router.lifespan_context(app),
                    httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
                ):
                    # Warm-up: first-request costs (schema, statement cache) stay out.
                    await count_request(engine, client, user, small)
                    small_sql, _, small_body = await count_request(engine, client, user, small)
                    large_sql, large_cache, large_body = await count_request(
                        engine, client, user, large
                    )
                    small_ms = await median_ms(client, user, small)
                    large_ms = await median_ms(client, user, large)
                check_shape(small_body, small)
                check_shape(large_body, large)

    print("Query: projects(first: 50) with clips(first: 5){project}, segments, sourceVideo")
    print(
        f"Seed: {CLIPS_PER_PROJECT} clips and {SEGMENTS_PER_PROJECT} segments per project; "
        "PostgreSQL; statements counted with before_cursor_execute (BEGIN/COMMIT by asyncpg "
        "are not cursor executions and are not counted)"
    )
    print(f"\nStatements of the {LARGE}-project request:")
    for i, (statement, cache) in enumerate(zip(large_sql, large_cache, strict=True), 1):
        print(f"  {i:2d}. [{cache:>4}] {short_sql(statement)}")
    print(
        f"\nIn-process latency (ASGITransport, median of 7): {SMALL} projects "
        f"{small_ms:.1f} ms, {LARGE} projects {large_ms:.1f} ms; machine at start: {machine}"
    )
    constant = len(small_sql) == len(large_sql)
    verdict = "OK: constant in the number of projects" if constant else "FAIL: grows with N (N+1)"
    print(
        f"\nSUMMARY sql_count: {SMALL} projects -> {len(small_sql)} statements, "
        f"{LARGE} projects -> {len(large_sql)} statements; {verdict}"
    )
    return 0 if constant else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
