"""``GET /metrics`` (editai/metrics.py) after real traffic, parsed with prometheus-client's
own parser: operations by type and name, errors by code, jobs and FFmpeg runs, the queue
read from the database, the pool, the event loop; bounded labels; off or protected in
production; one exposition for all processes of ``editai serve --workers 2``."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.db.base import utcnow
from editai.db.tenancy import SessionFactory
from editai.jobs.models import Job, JobStatus
from editai.metrics import MAX_OPERATION_NAMES
from editai.settings import Environment, Settings
from tests.api import Api
from tests.conftest import make_settings
from tests.graphql.lifecycle import quiet_app_api
from tests.test_serve import EDITAI, _free_port, _serve, dev_token, migrated_postgres_env
from tests.tts.conftest import synthesize, tts_env

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(client: httpx.AsyncClient, **headers: str) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


async def test_metrics_after_real_traffic(engine: AsyncEngine, tmp_path: Path) -> None:
    async with tts_env(engine, tmp_path) as env:
        before = await scrape(env.client)
        user = await env.api.new_user()
        named = "query ListProjects { projects(first: 5) { edges { node { id } } } }"
        for _ in range(3):
            assert "errors" not in (await user.gql(named)).body
        assert (await user.gql("{ currentProfile { id } }")).ok()
        missing = await user.gql(f'{{ project(id: "{uuid.uuid4()}") {{ id }} }}')
        assert missing.code == "NOT_FOUND"
        refused = await env.client.post(
            "/graphql", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert refused.status_code == 400
        project_id = await user.create_project("metrics")
        run = await synthesize(env, user, project_id, "Metrics are counted.")
        assert run.job["status"] == "SUCCEEDED", run
        after = await scrape(env.client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    query = {"operation_type": "query"}
    assert grew("editai_graphql_requests_total", **query, operation_name="ListProjects") == 3
    assert (
        grew(
            "editai_graphql_request_duration_seconds_count", **query, operation_name="ListProjects"
        )
        == 3
    )
    assert grew("editai_graphql_requests_total", **query, operation_name="anonymous") >= 2
    assert (
        grew("editai_graphql_requests_total", operation_type="mutation", operation_name="anonymous")
        >= 2
    )  # createProject, synthesizeVoiceover
    assert grew("editai_graphql_errors_total", code="NOT_FOUND") == 1
    assert grew("editai_graphql_errors_total", code="BAD_USER_INPUT") >= 1  # the bad JSON
    kind = "SYNTHESIZE_VOICEOVER"
    assert grew("editai_jobs_finished_total", kind=kind, outcome="succeeded") == 1
    assert grew("editai_job_duration_seconds_count", kind=kind, outcome="succeeded") == 1
    assert grew("editai_ffmpeg_runs_total", outcome="succeeded") >= 1
    assert ("editai_event_loop_lag_seconds", (("role", "server"),)) in after
    # No label names a user, a profile or a project.
    everything = " ".join(str(labels) for _, labels in after)
    for secret in (user.id, user.default_profile_id, project_id):
        assert secret not in everything


async def test_the_queue_and_the_pool_are_read_at_each_scrape(
    engine: AsyncEngine, settings: Settings, sessions: SessionFactory
) -> None:
    async with quiet_app_api(settings, engine) as api:
        user = await api.new_user()
        project_id = uuid.UUID(await user.create_project("queued"))
        long_ago = utcnow() - timedelta(minutes=10)
        async with sessions.system_transaction() as session:
            for minutes in (10, 3, 1):
                session.add(
                    Job(
                        id=uuid.uuid4(),
                        profile_id=uuid.UUID(user.default_profile_id),
                        project_id=project_id,
                        kind="test_kind",
                        status=JobStatus.QUEUED,
                        payload={},
                        run_after=long_ago,
                        created_at=utcnow() - timedelta(minutes=minutes),
                    )
                )
        samples = await scrape(api.client)
    assert value(samples, "editai_jobs_queued", kind="test_kind") == 3
    age = value(samples, "editai_jobs_oldest_queued_age_seconds", kind="test_kind")
    assert 600 <= age < 660
    if engine.dialect.name == "postgresql":
        assert value(samples, "editai_db_pool_connections", state="size") >= 1


async def test_operation_name_labels_are_bounded(api: Api) -> None:
    user = await api.new_user()
    for i in range(MAX_OPERATION_NAMES + 20):
        await user.gql(f"query Name{uuid.uuid4().hex[:12]}{i} {{ currentProfile {{ id }} }}")
    await user.gql("query Bad_but_long" + "x" * 100 + " { currentProfile { id } }")
    samples = await scrape(api.client)
    names = {
        dict(labels)["operation_name"]
        for name, labels in samples
        if name == "editai_graphql_requests_total"
    }
    assert len(names) <= MAX_OPERATION_NAMES + 2  # + "anonymous" and "other"
    assert "other" in names


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # production: PG only
async def test_production_has_no_metrics_unless_enabled_and_then_asks_a_token(
    engine: AsyncEngine, run_dir: Path
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    production: dict[str, Any] = {
        "env": Environment.production,
        "jwt_secret": SecretStr("p" * 40),
        "secret_key": SecretStr("s" * 40),
    }
    off = make_settings(run_dir, url, **production)
    async with quiet_app_api(off, engine) as api:
        assert (await api.client.get("/metrics")).status_code == 404
    token = "metrics-token-0123456789"
    protected = make_settings(run_dir, url, metrics_token=SecretStr(token), **production)
    async with quiet_app_api(protected, engine) as api:
        client = api.client
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        samples = await scrape(client, Authorization=f"Bearer {token}")
        assert ("editai_event_loop_lag_seconds", (("role", "server"),)) in samples


@pytest.fixture
async def two_worker_server(
    tmp_path: Path,
) -> AsyncIterator[tuple[str, str, subprocess.Popen[str]]]:
    """``editai serve --workers 2`` on a migrated PostgreSQL database: (URL, token, process)."""
    async with migrated_postgres_env(tmp_path) as env:
        for base, log, process in _serve(tmp_path, env, "--workers", "2"):
            yield base, dev_token(log), process


@pytest.mark.postgres
@pytest.mark.skipif(sys.platform != "linux", reason="uvicorn workers on Linux")
async def test_serve_with_two_workers_exposes_one_exposition_for_both(
    two_worker_server: tuple[str, str, subprocess.Popen[str]],
) -> None:
    base, token, server_process = two_worker_server
    headers = {"Authorization": f"Bearer {token}"}
    query = {"query": "query Counted { currentProfile { id } }"}
    # New connections each time: the kernel spreads them over both processes.
    for _ in range(24):
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            assert (
                "errors" not in (await client.post("/graphql", json=query, headers=headers)).json()
            )
    counts = set()
    for _ in range(6):
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            samples = await scrape(client)
            counts.add(
                value(
                    samples,
                    "editai_graphql_requests_total",
                    operation_type="query",
                    operation_name="Counted",
                )
            )
    # Whichever process answered the scrape, it counted both processes' requests...
    assert counts == {24.0}
    # ... and both did serve some: each process's own file holds a share of the 24.
    shares = per_process_counts(metrics_dir_of(server_process), "Counted")
    assert len(shares) == 2, shares
    assert sum(shares.values()) == 24
    assert all(v > 0 for v in shares.values()), shares


def metrics_dir_of(server: subprocess.Popen[str]) -> Path:
    """The multiprocess directory ``editai serve`` gave its worker processes."""
    for child in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split():
        environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        for entry in environ:
            if entry.startswith(b"PROMETHEUS_MULTIPROC_DIR="):
                return Path(entry.split(b"=", 1)[1].decode())
    raise AssertionError("no worker process with a metrics directory")


def per_process_counts(directory: Path, operation: str) -> dict[str, float]:
    """Each process's count of ``operation``, from its own counter file alone."""
    shares: dict[str, float] = {}
    for counter_file in directory.glob("counter_*.db"):
        alone = Path(tempfile.mkdtemp())
        shutil.copy(counter_file, alone / counter_file.name)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(alone))
        samples = parse(generate_latest(registry).decode())
        count = value(
            samples,
            "editai_graphql_requests_total",
            operation_type="query",
            operation_name=operation,
        )
        if count:
            shares[counter_file.stem] = count
        shutil.rmtree(alone)
    return shares


@pytest.mark.postgres
async def test_a_worker_process_serves_its_own_metrics(tmp_path: Path) -> None:
    port = _free_port()
    async with migrated_postgres_env(tmp_path, EDITAI_WORKER_METRICS_PORT=str(port)) as env:
        worker = await asyncio.create_subprocess_exec(
            str(EDITAI), "worker", env=env, cwd=tmp_path, stderr=asyncio.subprocess.DEVNULL
        )
        try:
            lag = ("editai_event_loop_lag_seconds", (("role", "worker"),))
            samples: Samples = {}
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as c:
                for _ in range(100):
                    assert worker.returncode is None
                    try:
                        samples = await scrape(c)
                        if lag in samples:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
            assert lag in samples
            assert 0 <= samples[lag] < 1.0
        finally:
            if worker.returncode is None:
                worker.terminate()
                await asyncio.wait_for(worker.wait(), timeout=30)
