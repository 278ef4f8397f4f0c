"""PostgreSQL: the request's identity lookup is the first statement of its own
transaction, and publishes the transaction's scope (issue 8: one connection and three
round trips less per request). Both walls must come out exactly as before.

Checked for real: the statements the app sends are counted; what the transaction then
runs as (role, ``app.*`` settings) is read back in it; raw SQL behind the hook sees only
the entered profile's rows, and nothing when no profile was entered.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.auth.tokens import mint_token
from editai.db.tenancy import SessionFactory, TenancyViolation, enter_profile, scope_of
from editai.profiles.repository import AccountRepository
from editai.settings import Settings
from tests.api import Api
from tests.conftest import make_settings
from tests.statements import recorded_statements

if TYPE_CHECKING:  # imported, the class would be collected as a test
    from tests.api import TestUser

CREATE_PROFILE = "mutation($n: String!) { createProfile(input: {name: $n}) { id } }"
CREATE_PROJECT = "mutation($n: String!) { createProject(input: {name: $n}) { id } }"


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.fixture
def settings(engine: AsyncEngine, run_dir: Path) -> Settings:
    """No embedded worker: its claim polls run on the same engine and would be counted
    among a request's statements whenever one fell inside the request."""
    url = engine.url.render_as_string(hide_password=False)
    return make_settings(run_dir, url, embedded_worker=False)


async def _user_with_two_profiles(api: Api) -> tuple[TestUser, str, str]:
    """A user, its default and a second profile, one project named after each."""
    user = await api.new_user()
    second = (await user.gql(CREATE_PROFILE, {"n": "Second"})).ok()["createProfile"]["id"]
    (await user.gql(CREATE_PROJECT, {"n": "in-default"})).ok()
    (await user.gql(CREATE_PROJECT, {"n": "in-second"}, profile_id=second)).ok()
    return user, user.default_profile_id, second


async def _scope_in_transaction(
    sessions: SessionFactory, user_id: uuid.UUID, requested: uuid.UUID | None
) -> dict[str, Any]:
    session = sessions.user_entering_profile(user_id)
    try:
        default_id, owner = await AccountRepository(session).lookup_and_enter(
            user_id, requested, sessions.tenant_role
        )
        row = (
            await session.execute(
                text(
                    "SELECT current_user AS role, current_setting('app.profile_id') AS profile,"
                    " current_setting('app.user_id') AS user_id"
                )
            )
        ).one()
        # Raw SQL: the tenant hook adds nothing here, only row-level security filters.
        names = (await session.execute(text("SELECT name FROM projects ORDER BY name"))).all()
        return {
            "default": default_id,
            "owner": owner,
            "role": row.role,
            "profile": row.profile,
            "user": row.user_id,
            "projects": [n.name for n in names],
        }
    finally:
        await session.close()


async def test_the_lookup_publishes_the_entered_profile_to_row_level_security(
    api: Api, sessions: SessionFactory
) -> None:
    user, default, second = await _user_with_two_profiles(api)
    other, _, _ = await _user_with_two_profiles(api)
    user_id = uuid.UUID(user.id)
    role = sessions.tenant_role
    assert role

    found = await _scope_in_transaction(sessions, user_id, None)
    assert found["default"] == uuid.UUID(default)
    assert (found["role"], found["profile"], found["user"]) == (role, default, user.id)
    assert found["projects"] == ["in-default"]

    found = await _scope_in_transaction(sessions, user_id, uuid.UUID(second))
    assert found["owner"] == user_id
    assert (found["role"], found["profile"]) == (role, second)
    assert found["projects"] == ["in-second"]

    # Another user's profile: its owner is told (FORBIDDEN), nothing is entered.
    found = await _scope_in_transaction(sessions, user_id, uuid.UUID(other.default_profile_id))
    assert found["owner"] == uuid.UUID(other.id)
    assert (found["role"], found["profile"]) == (role, "")
    assert found["projects"] == []

    # No such profile: nothing entered either.
    found = await _scope_in_transaction(sessions, user_id, uuid.uuid4())
    assert found["owner"] is None
    assert (found["role"], found["profile"]) == (role, "")
    assert found["projects"] == []


async def test_only_a_users_session_enters_a_profile(sessions: SessionFactory) -> None:
    profile_id = uuid.uuid4()
    for session in (sessions.system(), sessions.tenant(profile_id, uuid.uuid4())):
        with pytest.raises(TenancyViolation):
            enter_profile(session, uuid.uuid4())
        await session.close()
    session = sessions.user_entering_profile(uuid.uuid4())
    enter_profile(session, profile_id)
    assert scope_of(session).profile_id == profile_id
    with pytest.raises(TenancyViolation):  # once entered, never moved
        enter_profile(session, uuid.uuid4())
    await session.close()


async def test_a_request_runs_the_lookup_and_its_reads_in_one_transaction(
    api: Api, pg_engine: AsyncEngine
) -> None:
    user, _, _ = await _user_with_two_profiles(api)
    with recorded_statements(pg_engine) as sent:
        data = (await user.gql("{ projects { edges { node { name } } } }")).ok()
    assert [e["node"]["name"] for e in data["projects"]["edges"]] == ["in-default"]
    statements = [" ".join(statement.split())[:80] for statement in sent]
    # No X-Profile-Id: the lookup (which also sets role and app.*), then the page.
    assert len(statements) == 2, statements
    assert statements[0].startswith("WITH found AS"), statements
    assert not any("set_config" in s for s in statements[1:]), statements


async def test_a_named_profile_is_checked_on_begin_with_no_statement_of_its_own(
    api: Api, pg_engine: AsyncEngine
) -> None:
    user, _, second = await _user_with_two_profiles(api)
    with recorded_statements(pg_engine) as sent:
        data = (await user.gql("{ projects { edges { node { name } } } }", profile_id=second)).ok()
    assert [e["node"]["name"] for e in data["projects"]["edges"]] == ["in-second"]
    statements = [" ".join(statement.split())[:80] for statement in sent]
    # X-Profile-Id: the check and the scope rode on BEGIN (db/scope_on_begin.py); the page
    # is the only statement.
    assert len(statements) == 1, statements
    assert statements[0].startswith("SELECT projects."), statements


async def test_a_new_user_asking_for_another_users_profile_is_forbidden(
    api: Api, settings: Settings, sessions: SessionFactory
) -> None:
    # First sight (the user row is created mid-lookup), with a foreign profile: still
    # FORBIDDEN, not NOT_FOUND, and the user and its default profile now exist.
    other = await api.new_user()
    newcomer = str(uuid.uuid4())
    token = mint_token(settings, newcomer, "new@example.test")
    answer = await api.gql(
        "{ currentProfile { id } }", token=token, profile_id=other.default_profile_id
    )
    assert answer.code == "FORBIDDEN", answer
    async with sessions.system_read() as session:
        default_id, _ = await AccountRepository(session).lookup(uuid.UUID(newcomer), None)
    assert default_id is not None
    mine = await api.gql("{ currentProfile { id } }", token=token)
    assert mine.ok()["currentProfile"]["id"] == str(default_id)


async def test_every_header_case_answers_as_before(api: Api) -> None:
    user, default, second = await _user_with_two_profiles(api)
    other = await api.new_user()
    query = "{ currentProfile { id } me { id } }"
    assert (await user.gql(query)).ok()["currentProfile"]["id"] == default
    assert (await user.gql(query, profile_id=second)).ok()["currentProfile"]["id"] == second
    for header, code in (
        (other.default_profile_id, "FORBIDDEN"),
        (str(uuid.uuid4()), "NOT_FOUND"),
        ("not-a-uuid", "NOT_FOUND"),
    ):
        answer = await user.gql(query, profile_id=header)
        assert answer.codes == [code], (header, answer)
        # me needs no profile: it still answers, for the right user.
        assert answer.data is None or answer.data.get("me") in (None, {"id": user.id})
