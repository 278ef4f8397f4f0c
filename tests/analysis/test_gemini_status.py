"""geminiStatus: public, checks the global key with a free call, caches the result.

The database plays no part here, so these run on SQLite only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.analysis.conftest import GLOBAL_KEY, PROFILE_KEY
from tests.fakes.gemini import FakeGemini
from tests.fakes.server import RunningServer
from tests.pipeline.conftest import Env, open_env

STATUS = "{ geminiStatus { configured ok model error checkedAt } }"


@asynccontextmanager
async def _status_env(
    sqlite_engine: AsyncEngine, tmp_path: Path, server: RunningServer, **overrides: Any
) -> AsyncIterator[Env]:
    key = overrides.pop("gemini_api_key", GLOBAL_KEY)
    async with open_env(
        sqlite_engine,
        tmp_path,
        gemini_base_url=server.url,
        gemini_api_key=SecretStr(key) if key else None,
        embedded_worker=False,
        **overrides,
    ) as env:
        yield env


async def status(env: Env) -> dict[str, Any]:
    result = await env.api.gql(STATUS)  # no token: a public field
    data: dict[str, Any] = result.ok()["geminiStatus"]
    return data


async def test_not_configured_needs_no_call(
    sqlite_engine: AsyncEngine, tmp_path: Path, gemini_server: RunningServer, gemini: FakeGemini
) -> None:
    async with _status_env(sqlite_engine, tmp_path, gemini_server, gemini_api_key=None) as env:
        assert await status(env) == {
            "configured": False,
            "ok": False,
            "model": "gemini-2.5-flash",
            "error": None,
            "checkedAt": None,
        }
    assert gemini.requests == []


async def test_a_working_key_is_ok(
    sqlite_engine: AsyncEngine, tmp_path: Path, gemini_server: RunningServer, gemini: FakeGemini
) -> None:
    async with _status_env(sqlite_engine, tmp_path, gemini_server) as env:
        before = datetime.now(UTC)
        data = await status(env)
    assert data["configured"] is True
    assert data["ok"] is True
    assert data["error"] is None
    assert data["model"] == "gemini-2.5-flash"
    assert datetime.fromisoformat(data["checkedAt"]) >= before.replace(microsecond=0)
    (call,) = gemini.requests
    assert (call.kind, call.method, call.path) == (
        "get_model",
        "GET",
        "/v1beta/models/gemini-2.5-flash",
    )
    assert call.api_key == GLOBAL_KEY
    assert not call.key_in_url


async def test_the_global_key_is_checked_not_a_profile_key(
    sqlite_engine: AsyncEngine, tmp_path: Path, gemini_server: RunningServer, gemini: FakeGemini
) -> None:
    async with _status_env(sqlite_engine, tmp_path, gemini_server) as env:
        user = await env.api.new_user()
        own = await user.create_profile("Own key", geminiApiKey=PROFILE_KEY)
        result = await user.gql(STATUS, profile_id=own)
        assert result.ok()["geminiStatus"]["ok"] is True
    assert gemini.keys_seen() == {GLOBAL_KEY}


async def test_a_bad_key_is_reported_without_showing_it(
    sqlite_engine: AsyncEngine, tmp_path: Path, gemini_server: RunningServer, gemini: FakeGemini
) -> None:
    bad = "AIza-wrong-key-for-status-0123456789"
    async with _status_env(sqlite_engine, tmp_path, gemini_server, gemini_api_key=bad) as env:
        data = await status(env)
    assert data["configured"] is True
    assert data["ok"] is False
    assert data["error"] == "Gemini rejected the API key (API_KEY_INVALID)"
    assert data["checkedAt"] is not None
    assert bad not in json.dumps(data)


async def test_a_suspended_key_message_is_scrubbed(
    sqlite_engine: AsyncEngine, tmp_path: Path, gemini_server: RunningServer, gemini: FakeGemini
) -> None:
    bad = "AIza-suspended-key-0123456789"
    gemini.suspended_keys.add(bad)
    async with _status_env(sqlite_engine, tmp_path, gemini_server, gemini_api_key=bad) as env:
        data = await status(env)
    assert data["ok"] is False
    assert data["error"].startswith("Gemini rejected the API key (HTTP 403)")
    assert bad not in json.dumps(data)
    assert "***" in data["error"]


async def test_an_unknown_model_or_rate_limit_is_not_ok(
    sqlite_engine: AsyncEngine, tmp_path: Path, gemini_server: RunningServer, gemini: FakeGemini
) -> None:
    async with _status_env(
        sqlite_engine, tmp_path, gemini_server, gemini_model="gemini-0-nonexistent"
    ) as env:
        data = await status(env)
    assert data["ok"] is False
    assert "not found" in data["error"]

    gemini.rate_limit("get_model", times=1, retry_after=30)
    async with _status_env(sqlite_engine, tmp_path / "again", gemini_server) as env:
        started = asyncio.get_running_loop().time()
        data = await status(env)
        # No waiting out the rate limit inside a status query.
        assert asyncio.get_running_loop().time() - started < 5
    assert data["ok"] is False
    assert "rate-limiting" in data["error"]


async def test_results_are_cached_and_concurrent_callers_share_one_check(
    sqlite_engine: AsyncEngine, tmp_path: Path, gemini_server: RunningServer, gemini: FakeGemini
) -> None:
    async with _status_env(
        sqlite_engine, tmp_path, gemini_server, gemini_status_cache_seconds=0.5
    ) as env:
        first = await asyncio.gather(*(status(env) for _ in range(8)))
        assert len(gemini.calls("get_model")) == 1
        assert len({d["checkedAt"] for d in first}) == 1
        assert all(d["ok"] for d in first)
        again = await status(env)
        assert again == first[0]
        assert len(gemini.calls("get_model")) == 1
        await asyncio.sleep(0.6)
        later = await status(env)
        assert len(gemini.calls("get_model")) == 2
        assert later["checkedAt"] > first[0]["checkedAt"]


async def test_a_failed_check_is_cached_too(
    sqlite_engine: AsyncEngine, tmp_path: Path, gemini_server: RunningServer, gemini: FakeGemini
) -> None:
    async with _status_env(
        sqlite_engine, tmp_path, gemini_server, gemini_api_key="AIza-not-valid-0123"
    ) as env:
        for _ in range(3):
            assert (await status(env))["ok"] is False
    assert len(gemini.calls("get_model")) == 1


async def test_an_unreachable_gemini_is_not_ok(sqlite_engine: AsyncEngine, tmp_path: Path) -> None:
    closed = RunningServer("127.0.0.1", 9, "http")  # discard port: nothing listens
    async with _status_env(sqlite_engine, tmp_path, closed) as env:
        data = await status(env)
    assert data["ok"] is False
    assert data["error"] == "Gemini could not be reached (ConnectError)"
