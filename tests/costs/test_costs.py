"""costSummary (one profile's costs) and `editai costs` (the operator's, with Legacy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from editai.costs.models import ApiCost
from editai.costs.service import CostRecorder
from editai.db.tenancy import SessionFactory
from editai.settings import Settings
from tests.api import Api

if TYPE_CHECKING:
    from tests.api import TestUser

SUMMARY = """
query($since: DateTime, $until: DateTime) {
  costSummary(since: $since, until: $until) {
    since until totalUsd
    byProvider { provider costUsd }
    lines { provider operation units calls quantity costUsd }
  }
}
"""
DELETE_PROFILE = "mutation($id: ID!) { deleteProfile(id: $id) }"


async def _record(
    sessions: SessionFactory,
    settings: Settings,
    profile_id: str,
    *,
    characters: int = 0,
    tokens: tuple[int, int] | None = None,
) -> None:
    async with sessions.tenant_transaction(uuid.UUID(profile_id), None) as session:
        recorder = CostRecorder(session, settings)
        if characters:
            await recorder.elevenlabs_characters(characters, job_id=None)
        if tokens:
            await recorder.gemini_tokens(*tokens, job_id=None)


async def _summary(user: TestUser, profile_id: str | None = None, **period: str) -> dict[str, Any]:
    result = await user.gql(SUMMARY, period, profile_id=profile_id)
    return dict(result.ok()["costSummary"])


async def test_summary_prices_calls_with_the_configured_rates(
    api: Api, sessions: SessionFactory, settings: Settings
) -> None:
    user = await api.new_user()
    rates = settings.model_copy(
        update={
            "elevenlabs_usd_per_1k_characters": 0.30,
            "gemini_usd_per_1m_input_tokens": 0.30,
            "gemini_usd_per_1m_output_tokens": 2.50,
        }
    )
    await _record(sessions, rates, user.default_profile_id, characters=1234)
    await _record(sessions, rates, user.default_profile_id, characters=766)
    await _record(sessions, rates, user.default_profile_id, tokens=(10_000, 2_000))

    summary = await _summary(user)
    lines = {(x["provider"], x["operation"], x["units"]): x for x in summary["lines"]}
    assert set(lines) == {
        ("elevenlabs", "text_to_speech", "characters"),
        ("gemini", "generate_content", "input_tokens"),
        ("gemini", "generate_content", "output_tokens"),
    }
    tts = lines["elevenlabs", "text_to_speech", "characters"]
    assert (tts["calls"], tts["quantity"]) == (2, 2000.0)
    assert Decimal(tts["costUsd"]) == Decimal("0.600000")  # 2000 chars at $0.30 / 1k
    assert Decimal(lines["gemini", "generate_content", "input_tokens"]["costUsd"]) == Decimal(
        "0.003000"
    )
    assert Decimal(lines["gemini", "generate_content", "output_tokens"]["costUsd"]) == Decimal(
        "0.005000"
    )
    assert Decimal(summary["totalUsd"]) == Decimal("0.608000")
    assert {p["provider"]: Decimal(p["costUsd"]) for p in summary["byProvider"]} == {
        "elevenlabs": Decimal("0.6"),
        "gemini": Decimal("0.008"),
    }


async def test_each_profile_sees_only_its_own_costs(
    api: Api, sessions: SessionFactory, settings: Settings
) -> None:
    alice, bob = await api.new_user(), await api.new_user()
    second = await alice.create_profile("Second brand")
    await _record(sessions, settings, alice.default_profile_id, characters=1000)
    await _record(sessions, settings, second, characters=3000)
    await _record(sessions, settings, bob.default_profile_id, characters=5000)

    def characters(summary: dict[str, Any]) -> float:
        return sum(x["quantity"] for x in summary["lines"])

    assert characters(await _summary(alice)) == 1000
    assert characters(await _summary(alice, profile_id=second)) == 3000
    assert characters(await _summary(bob)) == 5000
    # Bob naming Alice's profile gets nothing of hers.
    result = await bob.gql(SUMMARY, {}, profile_id=second)
    assert result.code == "FORBIDDEN"
    assert result.data is None


async def test_period_filters_and_validation(
    api: Api, sessions: SessionFactory, settings: Settings
) -> None:
    user = await api.new_user()
    await _record(sessions, settings, user.default_profile_id, characters=100)
    await _record(sessions, settings, user.default_profile_id, characters=200)
    # Move the first cost a week back.
    async with sessions.tenant_transaction(uuid.UUID(user.default_profile_id), None) as session:
        first = (await session.scalars(select(ApiCost).where(ApiCost.quantity == 100.0))).one()
        first.created_at = datetime.now(UTC) - timedelta(days=7)

    now = datetime.now(UTC)
    recent = await _summary(user, since=(now - timedelta(days=1)).isoformat())
    assert [x["quantity"] for x in recent["lines"]] == [200.0]
    older = await _summary(user, until=(now - timedelta(days=1)).isoformat())
    assert [x["quantity"] for x in older["lines"]] == [100.0]
    assert [x["quantity"] for x in (await _summary(user))["lines"]] == [300.0]
    empty = await _summary(user, since=(now + timedelta(days=1)).isoformat())
    assert (empty["lines"], Decimal(empty["totalUsd"])) == ([], Decimal(0))

    bad = await user.gql(
        SUMMARY, {"since": now.isoformat(), "until": (now - timedelta(days=1)).isoformat()}
    )
    assert bad.code == "BAD_USER_INPUT"
    assert (await api.gql(SUMMARY)).code == "UNAUTHENTICATED"


def _cli_costs(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "EDITAI_DATABASE_URL": settings.database_url,
        "EDITAI_DATA_DIR": str(settings.data_dir),
        "EDITAI_ENV": "test",
    }
    return subprocess.run(
        [sys.executable, "-m", "editai.cli", "costs", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _legacy_tts(rows: list[dict[str, Any]]) -> tuple[float, Decimal]:
    """The operator's Legacy line for ElevenLabs characters: (quantity, cost), 0 if none."""
    found = [
        r
        for r in rows
        if r["profile"] == "Legacy" and (r["provider"], r["units"]) == ("elevenlabs", "characters")
    ]
    assert len(found) <= 1
    if not found:
        return 0.0, Decimal(0)
    assert found[0]["profile_id"] is None
    return found[0]["quantity"], Decimal(found[0]["cost_usd"])


def _cli_json(settings: Settings) -> list[dict[str, Any]]:
    done = _cli_costs(settings, "--json")
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


async def test_deleted_profiles_costs_survive_as_legacy_for_the_operator_only(
    api: Api, sessions: SessionFactory, settings: Settings, tmp_path: Path
) -> None:
    assert settings.elevenlabs_usd_per_1k_characters == 0.30
    user = await api.new_user()
    doomed = await user.create_profile("Doomed brand")
    await _record(sessions, settings, doomed, characters=7919)
    await _record(sessions, settings, user.default_profile_id, characters=10)
    async with sessions.tenant_transaction(uuid.UUID(doomed), None) as session:
        [doomed_cost] = (await session.scalars(select(ApiCost.id))).all()
    # Other tests share this database: compare the Legacy line before and after.
    before = _cli_json(settings)
    assert [r["quantity"] for r in before if r["profile_id"] == doomed] == [7919.0]
    legacy_before = _legacy_tts(before)

    assert (await user.gql(DELETE_PROFILE, {"id": doomed})).ok()["deleteProfile"] == doomed

    async with sessions.system_transaction() as session:
        kept = await session.get(ApiCost, doomed_cost)
    assert kept is not None  # kept, with no profile
    assert kept.profile_id is None

    # No profile's summary shows it (not even the user's remaining one).
    assert [x["quantity"] for x in (await _summary(user))["lines"]] == [10.0]

    after = _cli_json(settings)
    assert [r for r in after if r["profile_id"] == doomed] == []
    quantity, cost = _legacy_tts(after)
    assert quantity - legacy_before[0] == 7919.0
    assert cost - legacy_before[1] == Decimal("2.375700")  # 7919 characters at $0.30 / 1k
    mine = [r for r in after if r["profile_id"] == user.default_profile_id]
    assert [(r["calls"], r["quantity"]) for r in mine] == [(1, 10.0)]
    assert mine[0]["profile"] != "Legacy"

    table = _cli_costs(settings)
    assert table.returncode == 0, table.stderr
    legacy_lines = [line for line in table.stdout.splitlines() if line.startswith("Legacy")]
    assert any("elevenlabs" in line and "characters" in line for line in legacy_lines)
    assert table.stdout.splitlines()[-1].startswith("TOTAL")

    refused = _cli_costs(settings, "--since", "not-a-date")
    assert refused.returncode == 2
    assert "ISO 8601" in refused.stderr
