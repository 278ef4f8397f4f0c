"""A tenant transaction's scope rides on its BEGIN (db/scope_on_begin.py).

What must hold: row-level security sees the scope from the first statement on, no
statement of its own is spent on it, nothing of it reaches the next transaction on the
same connection (even when a transaction sent nothing), and a BEGIN whose scope failed
leaves no broken connection in the pool.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from editai.db.engine import create_engine
from editai.db.scope_on_begin import (
    begin_now,
    entering_commands,
    is_profile_refused,
    is_scope_on_begin,
    scope_commands,
)
from editai.db.tenancy import SessionFactory
from tests.conftest import make_settings
from tests.db.world import World, create_world
from tests.statements import recorded_statements

pytestmark = pytest.mark.postgres

_WHO = text(
    "SELECT current_user AS role, pg_backend_pid() AS pid, "
    "coalesce(current_setting('app.profile_id', true), '') AS profile_id, "
    "coalesce(current_setting('app.user_id', true), '') AS user_id, "
    "(SELECT count(*) FROM projects) AS projects"
)


@pytest.fixture
def tenant_role(run_dir: Path, pg_url: str) -> str:
    return make_settings(run_dir, pg_url).db_tenant_role


@pytest.fixture
async def one_connection(pg_url: str, run_dir: Path) -> AsyncIterator[AsyncEngine]:
    """The product's engine with a pool of one: every session reuses the same connection."""
    engine = create_engine(make_settings(run_dir, pg_url), pg_url, pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def world(one_connection: AsyncEngine, tenant_role: str) -> World:
    return await create_world(SessionFactory(one_connection, tenant_role))


async def _driver_log(engine: AsyncEngine) -> list[str]:
    """What the pool's one asyncpg connection sends as simple queries (BEGIN, ROLLBACK)."""
    sent: list[str] = []
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert is_scope_on_begin(driver)
        driver.add_query_logger(lambda record: sent.append(record.query))
    return sent


async def test_scope_is_sent_with_begin_and_rls_sees_it_from_the_first_statement(
    one_connection: AsyncEngine, tenant_role: str, world: World
) -> None:
    sessions = SessionFactory(one_connection, tenant_role)
    sent = await _driver_log(one_connection)
    with recorded_statements(one_connection) as statements:
        async with sessions.tenant(world.a.profile_id, world.a.user_id) as session:
            row = (await session.execute(_WHO)).one()
            ids = (await session.scalars(text("SELECT id FROM projects"))).all()
    assert (row.role, row.profile_id, row.user_id) == (
        tenant_role,
        str(world.a.profile_id),
        str(world.a.user_id),
    )
    assert ids == [world.a.project_id]  # row-level security, not the ORM hook (text())
    assert statements == [_WHO.text, "SELECT id FROM projects"]  # no set_config of its own
    await asyncio.sleep(0.05)  # asyncpg hands logged queries to its loggers in a later turn
    begins = [q for q in sent if q.startswith("BEGIN")]
    assert len(begins) == 1
    assert f'SET LOCAL ROLE "{tenant_role}"' in begins[0]
    assert f"SET LOCAL app.profile_id = '{world.a.profile_id}'" in begins[0]


@pytest.mark.parametrize("ending", ["commit", "rollback"])
async def test_a_transaction_that_sent_nothing_leaves_no_scope_behind(
    one_connection: AsyncEngine, tenant_role: str, world: World, ending: str
) -> None:
    sessions = SessionFactory(one_connection, tenant_role)
    sent = await _driver_log(one_connection)
    async with sessions.tenant(world.b.profile_id, world.b.user_id) as session:
        await session.connection()  # begun and armed, but no statement sent
        await getattr(session, ending)()
    async with sessions.system() as session:
        row = (await session.execute(_WHO)).one()
    assert row.role != tenant_role
    assert (row.profile_id, row.user_id) == ("", "")
    assert row.projects == 3  # the owner sees every profile's project: no policy applied
    await asyncio.sleep(0.05)  # asyncpg hands logged queries to its loggers in a later turn
    assert any(q.startswith("BEGIN") for q in sent)
    assert not any("SET LOCAL" in q for q in sent)


async def test_every_transaction_of_a_session_gets_its_own_scope_and_none_leaks(
    one_connection: AsyncEngine, tenant_role: str, world: World
) -> None:
    sessions = SessionFactory(one_connection, tenant_role)
    for tenant in (world.a, world.b, world.a2):
        async with sessions.tenant(tenant.profile_id, tenant.user_id) as session:
            for _ in range(2):
                row = (await session.execute(_WHO)).one()
                assert row.profile_id == str(tenant.profile_id)
                assert row.projects == 1
                await session.commit()
        async with sessions.unscoped() as session:
            row = (await session.execute(_WHO)).one()
            assert (row.role, row.profile_id, row.user_id, row.projects) == (tenant_role, "", "", 0)


async def test_a_begin_whose_scope_fails_leaves_no_broken_connection(
    one_connection: AsyncEngine, tenant_role: str, world: World
) -> None:
    broken = SessionFactory(one_connection, "editai_no_such_role")
    for _ in range(2):
        async with broken.tenant(world.a.profile_id, world.a.user_id) as session:
            with pytest.raises(DBAPIError, match="editai_no_such_role"):
                await session.execute(_WHO)
    # The one pooled connection was closed with its half-begun transaction; the pool hands
    # out a fresh one, in no transaction, with no scope.
    sessions = SessionFactory(one_connection, tenant_role)
    async with sessions.system() as session:
        row = (await session.execute(_WHO)).one()
        await session.commit()
    assert (row.profile_id, row.projects) == ("", 3)
    async with sessions.tenant(world.b.profile_id, world.b.user_id) as session:
        assert (await session.execute(_WHO)).one().projects == 1


def test_scope_commands_accept_only_ids_and_role_names() -> None:
    pid, uid = uuid.uuid4(), uuid.uuid4()
    assert scope_commands(pid, uid, "editai_tenant") == (
        f"SET LOCAL ROLE \"editai_tenant\"; SET LOCAL app.profile_id = '{pid}'; "
        f"SET LOCAL app.user_id = '{uid}'"
    )
    assert scope_commands(None, uid, None) == (
        f"SET LOCAL app.profile_id = ''; SET LOCAL app.user_id = '{uid}'"
    )
    for role in ('x"; DROP TABLE projects; --', "Tenant", "", "a" * 64):
        with pytest.raises(ValueError, match="role name"):
            scope_commands(pid, uid, role)
    with pytest.raises(ValueError, match="badly formed"):
        scope_commands("x'; RESET ROLE; --", uid, None)  # type: ignore[arg-type]


async def _backend_and_scope(sessions: SessionFactory) -> tuple[int, str, bool]:
    async with sessions.system() as session:
        row = (await session.execute(_WHO)).one()
        await session.commit()
    return row.pid, row.profile_id, row.projects == 3


async def test_a_named_profile_is_checked_on_begin_and_rls_sees_it_at_once(
    one_connection: AsyncEngine, tenant_role: str, world: World
) -> None:
    sessions = SessionFactory(one_connection, tenant_role)
    sent = await _driver_log(one_connection)
    with recorded_statements(one_connection) as statements:
        async with sessions.user_in_named_profile(world.a.user_id, world.a2.profile_id) as session:
            connection = await session.connection()
            await begin_now(connection)
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver.is_in_transaction()  # sent at once, before any statement
            row = (await session.execute(_WHO)).one()
    assert (row.role, row.profile_id, row.projects) == (tenant_role, str(world.a2.profile_id), 1)
    assert statements == [_WHO.text]
    await asyncio.sleep(0.05)  # asyncpg hands logged queries to its loggers in a later turn
    begins = [q for q in sent if q.startswith("BEGIN")]
    assert len(begins) == 1
    check = f"editai_require_profile('{world.a2.profile_id}'::uuid, '{world.a.user_id}'::uuid)"
    assert check in begins[0]
    assert begins[0].index(check) < begins[0].index("SET LOCAL ROLE")


@pytest.mark.parametrize("whose", ["another user's", "nobody's"])
async def test_a_refused_profile_leaves_the_connection_as_it_was(
    one_connection: AsyncEngine, tenant_role: str, world: World, whose: str
) -> None:
    sessions = SessionFactory(one_connection, tenant_role)
    pid, _, _ = await _backend_and_scope(sessions)
    profile_id = world.b.profile_id if whose == "another user's" else uuid.uuid4()
    for _ in range(3):
        async with sessions.user_in_named_profile(world.a.user_id, profile_id) as session:
            with pytest.raises(Exception, match="profile not entered") as refused:
                await begin_now(await session.connection())
            assert is_profile_refused(refused.value)
    # The same backend (not closed and replaced), out of the refused transaction, with
    # no scope: and the next request's check on it passes.
    assert await _backend_and_scope(sessions) == (pid, "", True)
    async with sessions.user_in_named_profile(world.b.user_id, world.b.profile_id) as session:
        await begin_now(await session.connection())
        assert (await session.execute(_WHO)).one().projects == 1
        assert (await session.execute(text("SELECT pg_backend_pid()"))).scalar() == pid


async def test_without_a_begin_to_ride_on_the_check_is_a_statement_of_its_own(
    pg_url: str, tenant_role: str, world: World
) -> None:
    # A plain asyncpg connection (not the engine's class): the same check, one statement.
    engine = create_async_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        sessions = SessionFactory(engine, tenant_role)
        async with sessions.user_in_named_profile(world.a.user_id, world.b.profile_id) as session:
            with pytest.raises(DBAPIError) as refused:
                await session.connection()
            assert is_profile_refused(refused.value)
        async with sessions.user_in_named_profile(world.a.user_id, world.a.profile_id) as session:
            row = (await session.execute(_WHO)).one()
        assert (row.role, row.profile_id, row.projects) == (tenant_role, str(world.a.profile_id), 1)
    finally:
        await engine.dispose()


def test_entering_commands_check_before_they_scope() -> None:
    pid, uid = uuid.uuid4(), uuid.uuid4()
    commands = entering_commands(pid, uid, "editai_tenant")
    assert commands.startswith(f"SELECT editai_require_profile('{pid}'::uuid, '{uid}'::uuid); ")
    assert commands.endswith(scope_commands(pid, uid, "editai_tenant"))
    with pytest.raises(ValueError, match="badly formed"):
        entering_commands("x'::uuid); RESET ROLE; --", uid, None)  # type: ignore[arg-type]
