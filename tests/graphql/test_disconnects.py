"""Clients that go away mid-request, and subscriptions cancelled mid-update (issue 7.1).

A real uvicorn server (in this event loop) on a real socket: the client disconnects
while the server is reading the body, or while its operation waits on a database lock;
a WebSocket subscriber completes, or drops the socket, while the server is loading an
update. Afterwards nothing is held and nothing was logged as an error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect

from editai.auth.tokens import mint_token
from editai.runtime import Runtime
from editai.settings import Settings
from tests.fakes.server import RunningServer, serve_app
from tests.graphql.lifecycle import (
    checked_out,
    nothing_held,
    quiet_app,
    sqlite_write_lock,
    wait_until,
)
from tests.jobs.conftest import enqueue, make_tenant


@pytest.fixture
async def served(
    settings: Settings, engine: AsyncEngine
) -> AsyncIterator[tuple[Starlette, RunningServer]]:
    async with quiet_app(settings, engine) as app, serve_app(app) as server:
        yield app, server


@asynccontextmanager
async def graphql_ws(
    server: RunningServer, token: str, profile_id: uuid.UUID
) -> AsyncIterator[ClientConnection]:
    """A graphql-transport-ws connection to ``server``, initialised and acknowledged."""
    url = f"ws://{server.host}:{server.port}/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        payload = {"Authorization": f"Bearer {token}", "X-Profile-Id": str(profile_id)}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        yield ws


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def _send_and_vanish(server: RunningServer, request: bytes) -> None:
    _reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(request)
    await writer.drain()
    await asyncio.sleep(0.05)
    writer.transport.abort()  # RST: gone without reading anything


def _post(
    token: str, body: bytes, *, length: int | None = None, ctype: str = "application/json"
) -> bytes:
    head = (
        "POST /graphql HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: {ctype}\r\n"
        "Apollo-Require-Preflight: true\r\n"
        f"Content-Length: {length if length is not None else len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def test_client_gone_while_the_body_is_read(
    served: tuple[Starlette, RunningServer],
    settings: Settings,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, server = served
    token = mint_token(settings, str(uuid.uuid4()), "gone@example.test")
    body = json.dumps({"query": 'mutation { createProject(input: {name: "x"}) { id } }'})
    # Declares more than it sends, then vanishes: JSON and multipart alike.
    await _send_and_vanish(server, _post(token, body.encode()[:20], length=len(body)))
    boundary = "b0undary"
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{{"query": "m'
    ).encode()
    await _send_and_vanish(
        server,
        _post(token, part, length=10_000_000, ctype=f"multipart/form-data; boundary={boundary}"),
    )
    await nothing_held(engine)
    spool = app.state.runtime.storage.upload_temp_dir()
    assert await wait_until(lambda: not any(spool.iterdir())), list(spool.iterdir())
    assert _errors(caplog) == []


async def test_client_gone_while_its_mutation_waits_on_a_lock(
    served: tuple[Starlette, RunningServer],
    settings: Settings,
    engine: AsyncEngine,
    backend: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, server = served
    runtime: Runtime = app.state.runtime
    tenant = await make_tenant(runtime.sessions)
    token = mint_token(settings, str(tenant.user_id), "lock@example.test")
    mutation = json.dumps(
        {
            "query": "mutation($id: ID!) "
            '{ updateProject(id: $id, input: {name: "renamed"}) { id } }',
            "variables": {"id": str(tenant.project_id)},
        }
    ).encode()
    before = checked_out(engine)
    if backend == "postgres":
        async with engine.connect() as blocker:
            await blocker.execute(
                text("SELECT id FROM projects WHERE id = :id FOR UPDATE"),
                {"id": str(tenant.project_id)},
            )
            await _send_and_vanish(server, _post(token, mutation))
            # The server's operation is in the database, waiting for the row.
            assert await wait_until(lambda: checked_out(engine) > before)
            await blocker.rollback()
    else:
        with sqlite_write_lock(engine):
            await _send_and_vanish(server, _post(token, mutation))
            assert await wait_until(lambda: checked_out(engine) > before)
    await nothing_held(engine)
    assert _errors(caplog) == []


@pytest.mark.parametrize("backend", ["postgres"])
@pytest.mark.parametrize("drop", ["complete", "close socket"])
async def test_subscription_cancelled_while_loading_an_update(
    served: tuple[Starlette, RunningServer],
    settings: Settings,
    engine: AsyncEngine,
    drop: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """PostgreSQL: updates arrive by NOTIFY; the update's load waits on a table lock."""
    app, server = served
    runtime: Runtime = app.state.runtime
    tenant = await make_tenant(runtime.sessions)
    job_id = await enqueue(runtime, tenant)
    token = mint_token(settings, str(tenant.user_id), "sub@example.test")
    dsn = (
        make_url(str(engine.url.render_as_string(hide_password=False)))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )
    async with graphql_ws(server, token, tenant.profile_id) as ws:
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": "subscription($id: ID) { jobUpdated(id: $id) { id status } }",
                        "variables": {"id": str(job_id)},
                    },
                }
            )
        )
        first = json.loads(await ws.recv())
        assert first["type"] == "next", first
        assert first["payload"]["data"]["jobUpdated"]["status"] == "QUEUED"

        admin = await asyncpg.connect(dsn)
        try:
            locker = admin.transaction()
            await locker.start()
            await admin.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
            notifier = await asyncpg.connect(dsn)
            try:
                await notifier.execute(
                    "SELECT pg_notify('editai_job_updated', $1)",
                    f"{job_id}:{tenant.profile_id}",
                )
            finally:
                await notifier.close()
            waiting = (
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            for _ in range(500):
                if await admin.fetchval(waiting):
                    break
                await asyncio.sleep(0.01)
            else:
                pytest.fail("the server never loaded the update")
            if drop == "complete":
                await ws.send(json.dumps({"id": "1", "type": "complete"}))
                await asyncio.sleep(0.1)
            else:
                ws.transport.abort()  # type: ignore[attr-defined]
            await locker.rollback()
        finally:
            await admin.close()
    await nothing_held(engine)
    assert _errors(caplog) == []


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
async def test_queries_over_one_websocket_each_get_their_own_session(
    served: tuple[Starlette, RunningServer],
    settings: Settings,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Operations on one connection share its Context, never a session: one may fail and
    end while the others still read."""
    app, server = served
    runtime: Runtime = app.state.runtime
    tenant = await make_tenant(runtime.sessions)
    token = mint_token(settings, str(tenant.user_id), "ws@example.test")
    good = "{ projects { edges { node { id segments { id } voiceovers { id } } } } }"
    bad = (
        '{ projects { edges { node { id clips(after: "garbage") { edges { node { id } } } '
        "segments { id } } } } }"
    )
    async with graphql_ws(server, token, tenant.profile_id) as ws:
        for i in range(12):
            query = bad if i % 3 == 0 else good
            await ws.send(
                json.dumps({"id": str(i), "type": "subscribe", "payload": {"query": query}})
            )
        results: dict[str, dict[str, object]] = {}
        completed: set[str] = set()
        while len(completed) < 12:
            message = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if message["type"] == "next":
                results[message["id"]] = message["payload"]
            elif message["type"] == "complete":
                completed.add(message["id"])
            else:
                pytest.fail(f"unexpected message {message}")
    for i in range(12):
        payload = results[str(i)]
        if i % 3 == 0:
            codes = [e["extensions"]["code"] for e in payload["errors"]]  # type: ignore[attr-defined]
            assert set(codes) == {"BAD_USER_INPUT"}, payload
        else:
            assert "errors" not in payload, payload
            assert len(payload["data"]["projects"]["edges"]) == 1  # type: ignore[index]
    await nothing_held(engine)
    assert _errors(caplog) == []
