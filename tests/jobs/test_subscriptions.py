"""``jobUpdated`` over graphql-transport-ws against a real server process.

A real ``editai serve`` (uvicorn) subprocess with the embedded worker off, on the jobs
tests' throw-away PostgreSQL database; jobs run in a worker *process*
(``tests/jobs/worker_main.py``); jobs are enqueued from this test process. Updates reach
the subscriber only through PostgreSQL NOTIFY. The client is the ``websockets`` package.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from editai.auth.tokens import mint_token
from editai.jobs.events import Channel, JobEvent
from editai.runtime import Runtime
from editai.settings import Settings
from tests.conftest import TEST_JWT_SECRET, TEST_SECRET_KEY
from tests.jobs.conftest import Tenant, WorkerProcess, enqueue, wait_status

EDITAI = Path(sys.executable).parent / "editai"
PROTOCOL = "graphql-transport-ws"
SUBSCRIPTION = "subscription($id: ID) { jobUpdated(id: $id) { id status progress attempts error } }"


@pytest.fixture
def backend() -> str:
    """PostgreSQL only: updates cross processes by NOTIFY."""
    return "postgres"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(jobs_pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``editai serve`` in its own process; yields its base URL (http://127.0.0.1:port)."""
    folder = tmp_path_factory.mktemp("server")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDITAI_")}
    env.update(
        EDITAI_ENV="test",
        EDITAI_DATABASE_URL=jobs_pg_url,
        EDITAI_EMBEDDED_WORKER="false",
        EDITAI_AUTO_MIGRATE="false",
        EDITAI_JWT_SECRET=TEST_JWT_SECRET,
        EDITAI_SECRET_KEY=TEST_SECRET_KEY,
        EDITAI_DATA_DIR=str(folder / "var"),
        EDITAI_LOG_JSON="true",
    )
    log = folder / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(EDITAI), "serve", "--port", str(port)],
            env=env,
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"server exited:\n{log.read_text()}"
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server not ready:\n{log.read_text()}"
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
async def remote_worker(
    jobs_pg_url: str, jobs_pg_engine: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[WorkerProcess]:
    folder = tmp_path_factory.mktemp("remote-worker")
    worker = WorkerProcess(
        jobs_pg_url, folder / "tmp", folder / "runs.jsonl", "remote", folder / "worker.log"
    )
    try:
        await worker.ready()
        yield worker
    finally:
        worker.stop()
        if worker.process.stdout is not None:
            worker.process.stdout.close()


class Client:
    """A user of the server: HTTP for set-up, WebSocket for subscriptions."""

    def __init__(self, base: str, settings: Settings) -> None:
        self.base = base
        self.user_id = str(uuid.uuid4())
        self.token = mint_token(settings, self.user_id, f"{self.user_id[:8]}@example.test")
        self.profile_id = ""

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.profile_id:
            headers["X-Profile-Id"] = self.profile_id
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as http:
            response = await http.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            )
        body: dict[str, Any] = response.json()
        assert not body.get("errors"), body
        return body["data"]  # type: ignore[no-any-return]

    async def tenant(self) -> Tenant:
        self.profile_id = (await self.gql("{ currentProfile { id } }"))["currentProfile"]["id"]
        project = await self.gql(
            'mutation { createProject(input: {name: "Live"}) { id } }',
        )
        return Tenant(
            uuid.UUID(self.user_id),
            uuid.UUID(self.profile_id),
            uuid.UUID(project["createProject"]["id"]),
        )

    def init_payload(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Profile-Id": self.profile_id}

    @asynccontextmanager
    async def socket(
        self, payload: dict[str, str] | None = None
    ) -> AsyncIterator[ClientConnection]:
        async with ws_connect(self.base) as ws:
            await send(ws, {"type": "connection_init", "payload": payload or self.init_payload()})
            assert await receive(ws) == {"type": "connection_ack"}
            yield ws


def ws_connect(base: str, subprotocols: tuple[str, ...] = (PROTOCOL,)) -> connect:
    """A WebSocket to /graphql offering ``subprotocols`` (none: no header at all)."""
    return connect(
        base.replace("http://", "ws://") + "/graphql",
        subprotocols=list(subprotocols) or None,  # type: ignore[arg-type]
    )


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def receive(ws: ClientConnection, within: float = 10.0) -> dict[str, Any]:
    raw = await asyncio.wait_for(ws.recv(), within)
    message: dict[str, Any] = json.loads(raw)
    return message


async def subscribe(ws: ClientConnection, op_id: str, job_id: str | None = None) -> None:
    await send(
        ws,
        {
            "id": op_id,
            "type": "subscribe",
            "payload": {"query": SUBSCRIPTION, "variables": {"id": job_id}},
        },
    )


async def updates_until_complete(
    ws: ClientConnection, op_id: str, within: float = 20.0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(jobs received, errors received) until the operation completes or errors."""
    jobs: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    deadline = time.monotonic() + within
    while True:
        message = await receive(ws, max(deadline - time.monotonic(), 0.01))
        assert message.get("id") == op_id, message
        if message["type"] == "next":
            errors += message["payload"].get("errors") or []
            if message["payload"].get("data"):
                jobs.append(message["payload"]["data"]["jobUpdated"])
        elif message["type"] == "error":
            errors += message["payload"]
            return jobs, errors
        elif message["type"] == "complete":
            return jobs, errors


@pytest.fixture
def users(server: str, settings: Settings) -> tuple[Client, Client]:
    return Client(server, settings), Client(server, settings)


async def _closed_with(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        await receive(ws)
    return closed.value.rcvd.code if closed.value.rcvd else None


async def test_connection_init_needs_a_valid_token(
    server: str, settings: Settings, users: tuple[Client, Client]
) -> None:
    alice, _ = users
    await alice.tenant()
    wrong_key = jwt.encode(
        {"sub": alice.user_id, "aud": settings.jwt_audience, "exp": int(time.time()) + 60},
        "another-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
        algorithm="HS256",
    )
    expired = mint_token(settings, alice.user_id, "a@example.test", ttl_seconds=-3600)
    refused: list[dict[str, Any]] = [
        {},
        {"X-Profile-Id": alice.profile_id},
        {"Authorization": "Bearer not-a-jwt", "X-Profile-Id": alice.profile_id},
        {"Authorization": f"Bearer {wrong_key}", "X-Profile-Id": alice.profile_id},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": alice.token},  # no Bearer scheme
    ]
    for payload in refused:
        async with ws_connect(server) as ws:
            assert ws.subprotocol == PROTOCOL
            await send(ws, {"type": "connection_init", "payload": payload})
            assert await _closed_with(ws) == 4403, payload

    # Subscribing without connection_init is refused too (4401), before anything runs.
    async with ws_connect(server) as ws:
        await subscribe(ws, "1")
        assert await _closed_with(ws) == 4401

    # The same token in connection_init is accepted.
    async with alice.socket() as ws:
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


async def test_legacy_graphql_ws_protocol_is_refused(server: str) -> None:
    for offered in (("graphql-ws",), ()):
        async with ws_connect(server, subprotocols=offered) as ws:
            assert ws.subprotocol is None  # not negotiated, and closed at once:
            assert await _closed_with(ws) == 4406  # "Subprotocol not acceptable"


async def test_subscriber_gets_progress_of_a_job_run_by_another_process(
    runtime: Runtime, users: tuple[Client, Client], remote_worker: WorkerProcess
) -> None:
    alice, _ = users
    tenant = await alice.tenant()
    job_id = await enqueue(runtime, tenant, {"seconds": 1.5})
    async with alice.socket() as ws:
        await subscribe(ws, "job", str(job_id))
        jobs, errors = await updates_until_complete(ws, "job")
    assert errors == []
    assert {j["id"] for j in jobs} == {str(job_id)}
    assert jobs[0]["status"] in ("QUEUED", "RUNNING")
    assert jobs[-1] == {
        "id": str(job_id),
        "status": "SUCCEEDED",
        "progress": 1.0,
        "attempts": 1,
        "error": None,
    }
    progress = [j["progress"] for j in jobs]
    assert progress == sorted(progress)
    live = {
        p for j, p in zip(jobs, progress, strict=True) if j["status"] == "RUNNING" and 0 < p < 1
    }
    assert len(live) >= 3, progress  # several updates while it ran, not just the end
    job = await wait_status(runtime, job_id, within=1)
    assert job.worker_id == remote_worker.worker_id


async def test_subscriber_never_receives_another_profiles_job(
    runtime: Runtime, users: tuple[Client, Client], remote_worker: WorkerProcess
) -> None:
    alice, bob = users
    alice_tenant, bob_tenant = await alice.tenant(), await bob.tenant()
    bobs_job = await enqueue(runtime, bob_tenant, {"seconds": 1.2})

    async with alice.socket() as alice_ws, bob.socket() as bob_ws:
        # Asking for Bob's job by id, or for a job that does not exist: NOT_FOUND, no data.
        for op_id, job_id in (("stolen", bobs_job), ("missing", uuid.uuid4())):
            await subscribe(alice_ws, op_id, str(job_id))
            jobs, errors = await updates_until_complete(alice_ws, op_id)
            assert jobs == []
            assert [e["message"] for e in errors] == ["Job not found"]
            assert [(e.get("extensions") or {}).get("code") for e in errors] == ["NOT_FOUND"]

        # All of Alice's jobs while Bob's and hers run side by side.
        await subscribe(alice_ws, "all")
        await subscribe(bob_ws, "bob", str(bobs_job))
        alices_job = await enqueue(runtime, alice_tenant, {"seconds": 0.8})
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["status"] != "SUCCEEDED":
            message = await receive(alice_ws)
            assert (message["type"], message["id"]) == ("next", "all"), message
            seen.append(message["payload"]["data"]["jobUpdated"])
        bobs_updates, bob_errors = await updates_until_complete(bob_ws, "bob")
        # Nothing more for Alice, though Bob's job kept changing until now.
        with pytest.raises(TimeoutError):
            await receive(alice_ws, within=0.5)

    assert {j["id"] for j in seen} == {str(alices_job)}
    assert bob_errors == []
    assert bobs_updates[-1]["status"] == "SUCCEEDED"
    assert len(bobs_updates) >= 4  # Bob's job did publish while Alice listened


async def test_subscription_errors_carry_their_codes(users: tuple[Client, Client]) -> None:
    alice, bob = users
    await alice.tenant()
    await bob.tenant()
    async with alice.socket() as ws:
        await subscribe(ws, "bad-id", "not-an-id")  # an unparsable id is no job either
        jobs, errors = await updates_until_complete(ws, "bad-id")
        assert jobs == []
        assert [(e.get("extensions") or {}).get("code") for e in errors] == ["NOT_FOUND"]
    # A valid token with someone else's profile: connected, but no operation runs in it.
    async with alice.socket({**alice.init_payload(), "X-Profile-Id": bob.profile_id}) as ws:
        await subscribe(ws, "foreign-profile")
        jobs, errors = await updates_until_complete(ws, "foreign-profile")
        assert jobs == []
        assert [(e.get("extensions") or {}).get("code") for e in errors] == ["FORBIDDEN"]


async def _publish_update(runtime: Runtime, tenant: Tenant, job_id: uuid.UUID) -> None:
    """An UPDATED event for a job that did not change (NOTIFY on commit, as writers send)."""
    async with runtime.sessions.system_transaction() as session:
        await runtime.events.publish(session, JobEvent(Channel.UPDATED, job_id, tenant.profile_id))


async def test_an_unchanged_job_is_sent_once_however_many_events_name_it(
    runtime: Runtime, users: tuple[Client, Client], remote_worker: WorkerProcess
) -> None:
    # Events outrun reads: a progress write's event read after the job succeeded shows the
    # same state as the SUCCEEDED event's. A client must not get that state twice.
    alice, _ = users
    tenant = await alice.tenant()
    job_id = await enqueue(runtime, tenant, {"seconds": 0.2})
    await wait_status(runtime, job_id, within=20)
    async with alice.socket() as ws:
        await subscribe(ws, "all")
        # Until the subscription is listening: events naming the finished job.
        first: dict[str, Any] | None = None
        while first is None:
            await _publish_update(runtime, tenant, job_id)
            with contextlib.suppress(TimeoutError):
                first = await receive(ws, within=0.2)
        assert first["payload"]["data"]["jobUpdated"]["status"] == "SUCCEEDED", first
        for _ in range(3):
            await _publish_update(runtime, tenant, job_id)
        with pytest.raises(TimeoutError):  # nothing more: the same state is not sent again
            await receive(ws, within=0.7)
