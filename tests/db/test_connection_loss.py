"""The database drops the server's connections (restart, failover, pg_terminate_backend).

Only operations in flight at that moment may fail, and they fail as GraphQL JSON with a
code; the next request is never handed a dead pooled connection; no plain-text 500.
PostgreSQL only, on the test's own database: its backends are terminated from a separate
admin connection while the app (in-process, then a real ``editai serve``) is serving.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.auth.tokens import mint_token
from editai.db.connection_health import retry_on_connection_loss
from editai.settings import Settings
from tests.api import Api, GraphQLResult
from tests.conftest import TEST_JWT_SECRET, TEST_SECRET_KEY, make_settings
from tests.pg_backends import (
    Kill,
    backend_pids,
    backends_killed_before,
    idle_in_transaction,
    kill_backends,
    terminate_backends,
)
from tests.test_logging import JsonLines, json_logs  # noqa: F401 - the capture fixture
from tests.test_serve import _clean_env, _serve

CLIENTS = 10
READ = "{ currentProfile { id } projects(first: 5) { edges { node { id name } } } }"
DEEP_READ = """query($id: ID!) { project(id: $id) { id name description
    clips(first: 5) { edges { node { id } } } segments { id } } }"""
CREATE = "mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }"
UPDATE = """mutation($id: ID!, $input: UpdateProjectInput!) {
    updateProject(id: $id, input: $input) { id description } }"""


def create_variables() -> dict[str, Any]:
    return {"input": {"name": f"p-{uuid.uuid4().hex[:8]}"}}


@pytest.fixture
def backend() -> str:
    """PostgreSQL only; the test's own database (``pg_url``), whose backends it kills."""
    return "postgres"


@pytest.fixture
def settings(engine: AsyncEngine, run_dir: Path) -> Settings:
    """No embedded worker in the in-process app: its claim loop would meet a dead
    connection first (and have the pool invalidated) as often as a request would."""
    return make_settings(
        run_dir, engine.url.render_as_string(hide_password=False), embedded_worker=False
    )


# ------------------------------------------------------------- retry_on_connection_loss


async def test_a_lost_connection_is_retried_at_once_then_with_backoff() -> None:
    tries: list[float] = []

    async def flaky() -> str:
        tries.append(time.monotonic())
        if len(tries) < 3:
            raise DisconnectionError("the server closed the connection")
        return "done"

    assert await retry_on_connection_loss(flaky, what="test", within=5) == "done"
    assert len(tries) == 3
    assert tries[1] - tries[0] < 0.05  # the first retry at once: a fresh connection
    assert tries[2] - tries[1] >= 0.1  # then backing off


async def test_other_errors_and_a_loss_that_lasts_are_raised() -> None:
    calls = 0

    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise ValueError("a bug, not the network")

    with pytest.raises(ValueError, match="a bug"):
        await retry_on_connection_loss(broken, what="test", within=5)
    assert calls == 1

    async def gone() -> None:
        raise DisconnectionError("the server closed the connection")

    started = time.monotonic()
    with pytest.raises(DisconnectionError):
        await retry_on_connection_loss(gone, what="test", within=0.5, max_delay=0.2)
    assert 0.3 < time.monotonic() - started < 1.5


# --------------------------------------------------------------------- in-process app


async def test_requests_after_idle_pooled_connections_are_killed_all_succeed(
    api: Api, pg_url: str
) -> None:
    users = [await api.new_user() for _ in range(CLIENTS)]
    # Every client at once: the pool ends up holding several idle connections.
    for warm in await asyncio.gather(*(user.gql(READ) for user in users)):
        warm.ok()
    before = await backend_pids(pg_url)
    assert len(before) >= 3, f"expected several pooled connections, saw {before}"

    killed = await terminate_backends(pg_url)
    assert set(killed) == before

    # The next request, then every client at once (reads and writes), each checking out
    # a pooled connection whose backend is gone.
    (await users[0].gql(READ)).ok()
    answers = await asyncio.gather(
        *(user.gql(READ) for user in users),
        *(user.gql(CREATE, create_variables()) for user in users),
    )
    failed = [answer for answer in answers if answer.errors or answer.status_code != 200]
    assert not failed, failed
    assert (await backend_pids(pg_url)).isdisjoint(killed)


async def test_a_second_kill_is_survived_as_well(api: Api, pg_url: str) -> None:
    user = await api.new_user()
    for _ in range(2):
        await asyncio.gather(*(user.gql(READ) for _ in range(4)))
        assert await terminate_backends(pg_url)
        results: list[GraphQLResult] = await asyncio.gather(
            *(user.gql(READ) for _ in range(4)), user.gql(CREATE, create_variables())
        )
        for result in results:
            result.ok()


def is_identity_lookup(statement: str, _parameters: Any) -> bool:
    # AccountRepository.lookup(_and_enter): the default profile, and the owner of the one
    # asked for (on PostgreSQL in a CTE, beside the tenant set-up).
    return statement.lstrip().startswith(("SELECT", "WITH")) and (
        "profiles.is_default IS true" in statement
    )


async def test_a_connection_lost_while_identifying_the_caller_is_retried(
    api: Api,
    pg_engine: AsyncEngine,
    pg_url: str,
    json_logs: JsonLines,  # noqa: F811
) -> None:
    user = await api.new_user()
    (await user.gql(READ)).ok()
    json_logs.clear()
    with backends_killed_before(pg_engine, pg_url, is_identity_lookup) as fired:
        answer = await user.gql(READ)
    assert fired
    errors = [line for line in json_logs.server_lines() if line["level"] == "error"]
    assert not errors, errors
    # Retried on a fresh connection: the caller never notices.
    answer.ok()
    assert any(
        line["event"] == "database connection lost, retrying" for line in json_logs.server_lines()
    )


async def test_a_database_that_stays_away_while_identifying_answers_a_retryable_503(
    api: Api,
    pg_engine: AsyncEngine,
    pg_url: str,
    json_logs: JsonLines,  # noqa: F811
) -> None:
    user = await api.new_user()
    (await user.gql(READ)).ok()
    json_logs.clear()
    # Every try of the identity read loses its connection, until the retries give up.
    with backends_killed_before(pg_engine, pg_url, is_identity_lookup, times=1000) as fired:
        answer = await user.gql(READ)
    assert len(fired) >= 3, fired  # the first try, then retries
    assert answer.status_code == 503
    assert answer.headers.get("retry-after") == "1"
    assert answer.data is None
    [error] = answer.errors
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["retryable"] is True
    assert "try again" in error["message"]
    lines = json_logs.server_lines()
    assert not [line for line in lines if line["level"] == "error"], lines
    assert any(line["event"] == "request failed: database unavailable" for line in lines)
    # The database is back: so is the service.
    (await user.gql(READ)).ok()


# --------------------------------------------------------- a real server under load

# A request sent this soon after a kill returned may still meet the kill's aftermath.
MARGIN_SECONDS = 0.05
ANSWERS_AFTER_EACH_KILL = 4


@dataclass
class Answer:
    client: int
    action: str
    started: float
    ended: float
    ok: bool
    problem: str | None  # never acceptable: not JSON, an error without a code, no answer
    codes: list[str]
    detail: str
    retryable: bool = False  # every error says a retry may succeed


@dataclass
class Load:
    answers: list[Answer] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def record(self, answer: Answer) -> None:
        async with self.changed:
            self.answers.append(answer)
            self.changed.notify_all()

    async def wait(self, enough: int, after: float, within: float = 15.0) -> None:
        """Until every client has ``enough`` answers to requests it sent after ``after``."""

        def reached() -> bool:
            counts = [0] * CLIENTS
            for answer in self.answers:
                if answer.started > after:
                    counts[answer.client] += 1
            return min(counts) >= enough

        async with asyncio.timeout(within), self.changed:
            await self.changed.wait_for(reached)


def judge(client: int, action: str, started: float, response: httpx.Response) -> Answer:
    ended = time.monotonic()
    text = response.text[:300]
    if not response.headers.get("content-type", "").startswith("application/json"):
        problem = f"HTTP {response.status_code}, not JSON: {text!r}"
        return Answer(client, action, started, ended, False, problem, [], text)
    try:
        body = response.json()
    except json.JSONDecodeError:
        return Answer(client, action, started, ended, False, "invalid JSON", [], text)
    errors = body.get("errors") or []
    codes = [(error.get("extensions") or {}).get("code") for error in errors]
    if not all(codes):
        return Answer(
            client, action, started, ended, False, f"error without a code: {body}", [], text
        )
    ok = response.status_code == 200 and not errors and body.get("data") is not None
    retryable = bool(errors) and all((e.get("extensions") or {}).get("retryable") for e in errors)
    detail = json.dumps(body)[:300]
    return Answer(client, action, started, ended, ok, None, codes, detail, retryable)


async def run_client(base: str, token: str, project_id: str, client: int, load: Load) -> None:
    """Reads and writes in turn, one request at a time, until told to stop."""
    requests = itertools.cycle(
        [
            ("read", READ, {}),
            ("create", CREATE, None),
            ("deep read", DEEP_READ, {"id": project_id}),
            ("update", UPDATE, None),
        ]
    )
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        for action, query, variables in requests:
            if load.stop.is_set():
                return
            if action == "create":
                variables = create_variables()
            elif action == "update":
                variables = {"id": project_id, "input": {"description": uuid.uuid4().hex}}
            started = time.monotonic()
            try:
                response = await http.post(
                    "/graphql", json={"query": query, "variables": variables}
                )
            except httpx.HTTPError as exc:
                ended = time.monotonic()
                load.answers.append(
                    Answer(client, action, started, ended, False, f"no answer: {exc!r}", [], "")
                )
                continue
            await load.record(judge(client, action, started, response))


def log_problems(log: Path) -> list[str]:
    """ERROR/CRITICAL entries of the server's JSON log, and any traceback anywhere."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            if "Traceback" in line or "Error" in line:
                found.append(line)
            continue
        if not isinstance(entry, dict):
            continue
        if entry.get("level") in {"error", "critical", "exception"} or "Traceback" in line:
            found.append(line[:2000])
    return found


def in_flight(answer: Answer, kill: Kill) -> bool:
    """Sent before the kill was over (and a hair after), answered after it began."""
    return answer.started < kill.ended + MARGIN_SECONDS and answer.ended > kill.started


def kill_figures(answers: list[Answer], kill: Kill) -> dict[str, Any]:
    start, end = kill.started, kill.ended
    caught = [a for a in answers if in_flight(a, kill)]
    failed = [a for a in caught if not a.ok]
    # Recovery: from the end of the kill until every client had a success sent after it.
    firsts = [
        min((a.ended for a in answers if a.client == c and a.ok and a.started > end), default=0)
        for c in range(CLIENTS)
    ]
    return {
        "kill_ms": round((end - start) * 1000),
        "in_flight": len(caught),
        "failed_in_flight": len(failed),
        "codes": sorted({code for a in failed for code in a.codes}),
        "retryable": sum(a.retryable for a in failed),
        "by_action": {
            act: sum(a.action == act for a in failed) for act in {a.action for a in failed}
        },
        "recovered_ms": round((max(firsts) - end) * 1000),
    }


async def test_a_server_under_load_recovers_from_two_kills(
    pg_url: str, settings: Settings, tmp_path: Path
) -> None:
    env = _clean_env(
        EDITAI_ENV="test",
        EDITAI_DATA_DIR=str(tmp_path / "var"),
        EDITAI_DATABASE_URL=pg_url,
        EDITAI_AUTO_MIGRATE="false",
        EDITAI_JWT_SECRET=TEST_JWT_SECRET,
        EDITAI_SECRET_KEY=TEST_SECRET_KEY,
        EDITAI_LOG_JSON="true",
        EDITAI_LOG_LEVEL="INFO",
        EDITAI_DB_POOL_SIZE="10",
        # The embedded worker runs as in production: its claim loop shares the pool.
        EDITAI_EMBEDDED_WORKER="true",
    )
    tokens = [
        mint_token(settings, str(uid), f"{uid.hex[:8]}@example.test")
        for uid in (uuid.uuid4() for _ in range(CLIENTS))
    ]
    for base, log, _ in _serve(tmp_path, env):
        projects: list[str] = []
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for token in tokens:  # each client's user, default profile and project exist
                created = await http.post(
                    "/graphql",
                    json={"query": CREATE, "variables": create_variables()},
                    headers={"Authorization": f"Bearer {token}"},
                )
                projects.append(created.json()["data"]["createProject"]["id"])
        load = Load()
        clients = [
            asyncio.create_task(run_client(base, token, project, i, load))
            for i, (token, project) in enumerate(zip(tokens, projects, strict=True))
        ]
        kills: list[Kill] = []
        try:
            await load.wait(ANSWERS_AFTER_EACH_KILL, after=0.0)
            for _ in range(2):  # under load: requests are in flight at each kill
                kill = await kill_backends(pg_url)
                assert kill.pids
                kills.append(kill)
                await load.wait(ANSWERS_AFTER_EACH_KILL, after=kill.ended)
        finally:
            load.stop.set()
            await asyncio.gather(*clients)
        leftover = await idle_in_transaction(pg_url, within=3.0)
        problems_in_log = log_problems(log)

    answers = load.answers
    figures = {
        "answers": len(answers),
        "failed": sum(not a.ok for a in answers),
        "kills": [kill_figures(answers, kill) for kill in kills],
    }
    print(f"connection-loss load: {json.dumps(figures)}")

    # Every answer is GraphQL JSON, every error carries a code.
    problems = [a for a in answers if a.problem is not None]
    assert not problems, problems[:5]
    # Only requests in flight at a kill fail; everything sent after it succeeds.
    outside = [a for a in answers if not a.ok and not any(in_flight(a, k) for k in kills)]
    assert not outside, f"{len(outside)} failures outside the kills: {outside[:5]}"
    for kill in kills:
        assert any(in_flight(a, kill) for a in answers), "nothing was in flight at a kill"
    # Those that failed say the database was away, and that a retry may help.
    codes = {code for a in answers if not a.ok for code in a.codes}
    assert codes <= {"INTERNAL_SERVER_ERROR"}, codes
    # No "cannot call Transaction.rollback(): the underlying connection is closed", no
    # "job claim failed": a lost connection is logged as a warning, never as an error.
    assert not problems_in_log, problems_in_log[:3]
    assert not leftover, leftover
