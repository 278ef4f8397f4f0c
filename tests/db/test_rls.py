"""PostgreSQL row-level security: the wall behind the ORM hook, tested with raw SQL.

``text()`` statements are invisible to the ORM hook, so everything these tests see (or
fail to see) is decided by the tenant role and the ``tenant_isolation`` policies.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from editai.db.models import TENANT_TABLES, Base
from editai.db.tenancy import SessionFactory
from tests.conftest import make_settings
from tests.db.test_migrations import SHARED_TABLES
from tests.db.world import Tenant, World, create_world

pytestmark = pytest.mark.postgres


@pytest.fixture
def tenant_role(pg_engine: AsyncEngine, run_dir: Path) -> str:
    return make_settings(run_dir, pg_engine.url.render_as_string(False)).db_tenant_role


@pytest.fixture
def pg_sessions(pg_engine: AsyncEngine, tenant_role: str) -> SessionFactory:
    return SessionFactory(pg_engine, tenant_role)


@pytest.fixture
async def pg_world(pg_sessions: SessionFactory) -> World:
    return await create_world(pg_sessions)


def tenant_session(sessions: SessionFactory, tenant: Tenant) -> AsyncSession:
    return sessions.tenant(tenant.profile_id, tenant.user_id)


def own_ids(tenant: Tenant, table: str) -> set[uuid.UUID]:
    return {
        "projects": {tenant.project_id},
        "clips": set(tenant.clip_ids),
        "segments": set(tenant.segment_ids),
        "jobs": {tenant.job_id},
        "api_costs": {tenant.cost_id},
        "publications": {tenant.publication_id},
        "voiceovers": {tenant.voiceover_id},
        "transcripts": {tenant.transcript_id},
    }[table]


def all_ids(world: World, table: str) -> list[uuid.UUID]:
    return [i for t in (world.a, world.a2, world.b) for i in own_ids(t, table)]


async def test_raw_select_sees_only_the_session_profiles_rows(
    pg_sessions: SessionFactory, pg_world: World
) -> None:
    w = pg_world
    assert set(TENANT_TABLES) == {
        "projects", "clips", "segments", "jobs", "api_costs", "publications", "voiceovers",
        "transcripts",
    }  # fmt: skip
    async with tenant_session(pg_sessions, w.a) as session:
        for table in TENANT_TABLES:
            rows = (await session.execute(text(f"SELECT id, profile_id FROM {table}"))).all()
            assert {r.id for r in rows} == own_ids(w.a, table), table
            assert {r.profile_id for r in rows} == {w.a.profile_id}, table
        profiles = (await session.execute(text("SELECT id, user_id FROM profiles"))).all()
        users = (await session.scalars(text("SELECT id FROM users"))).all()
    # profiles and users are the user's: both of user 1's profiles, never user 2's.
    assert {p.id for p in profiles} == {w.a.profile_id, w.a2.profile_id}
    assert users == [w.a.user_id]

    async with pg_sessions.system() as session:  # the rows a could not see do exist
        for table in TENANT_TABLES:
            found = await session.scalar(
                text(f"SELECT count(*) FROM {table} WHERE id = ANY(:ids)"),
                {"ids": all_ids(w, table)},
            )
            assert found == len(all_ids(w, table)), table


async def test_scope_holds_for_every_transaction_of_a_session(
    pg_sessions: SessionFactory, pg_world: World
) -> None:
    async with tenant_session(pg_sessions, pg_world.b) as session:
        for _ in range(2):  # after_begin publishes the scope again after each commit
            ids = (await session.scalars(text("SELECT id FROM projects"))).all()
            assert ids == [pg_world.b.project_id]
            await session.commit()


async def test_sessions_without_a_profile_see_no_tenant_rows(
    pg_sessions: SessionFactory, pg_world: World
) -> None:
    async with pg_sessions.unscoped() as session:
        for table in (*TENANT_TABLES, "profiles", "users"):
            assert await session.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table
    async with pg_sessions.tenant(None, pg_world.a.user_id) as session:
        for table in TENANT_TABLES:
            assert await session.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table
        profiles = set((await session.scalars(text("SELECT id FROM profiles"))).all())
    assert profiles == {pg_world.a.profile_id, pg_world.a2.profile_id}


async def test_raw_update_and_delete_cannot_touch_other_profiles(
    pg_sessions: SessionFactory, pg_world: World
) -> None:
    w = pg_world
    async with tenant_session(pg_sessions, w.a) as session, session.begin():
        renamed = await session.execute(
            text("UPDATE projects SET name = 'renamed' WHERE id = ANY(:ids)"),
            {"ids": all_ids(w, "projects")},
        )
        deleted = await session.execute(
            text("DELETE FROM clips WHERE id = ANY(:ids)"), {"ids": all_ids(w, "clips")}
        )
        costs = await session.execute(text("DELETE FROM api_costs"))
        profiles = await session.execute(
            text("UPDATE profiles SET description = 'seen' WHERE id = ANY(:ids)"),
            {"ids": [w.a.profile_id, w.a2.profile_id, w.b.profile_id]},
        )
        assert getattr(renamed, "rowcount", None) == 1
        assert getattr(deleted, "rowcount", None) == len(w.a.clip_ids)
        assert getattr(costs, "rowcount", None) == 1
        assert getattr(profiles, "rowcount", None) == 2  # user 1's profiles only

    async with pg_sessions.system() as session:
        names = dict(
            (
                await session.execute(
                    text("SELECT id, name FROM projects WHERE id = ANY(:ids)"),
                    {"ids": all_ids(w, "projects")},
                )
            ).all()
        )
        clips = set(
            (
                await session.scalars(
                    text("SELECT id FROM clips WHERE id = ANY(:ids)"), {"ids": all_ids(w, "clips")}
                )
            ).all()
        )
        costs_left = set(
            (
                await session.scalars(
                    text("SELECT id FROM api_costs WHERE id = ANY(:ids)"),
                    {"ids": all_ids(w, "api_costs")},
                )
            ).all()
        )
        described = set(
            (
                await session.scalars(
                    text(
                        "SELECT id FROM profiles WHERE description = 'seen' AND user_id = ANY(:u)"
                    ),
                    {"u": [w.a.user_id, w.b.user_id]},
                )
            ).all()
        )
    assert names == {
        w.a.project_id: "renamed",
        w.a2.project_id: "Alpha Two project",
        w.b.project_id: "Beta project",
    }
    assert clips == set(w.a2.clip_ids + w.b.clip_ids)
    assert costs_left == {w.a2.cost_id, w.b.cost_id}
    assert described == {w.a.profile_id, w.a2.profile_id}


async def test_raw_insert_into_another_profile_is_rejected(
    pg_sessions: SessionFactory, pg_world: World
) -> None:
    w = pg_world
    project_id = uuid.uuid4()
    insert = text(
        "INSERT INTO projects (id, profile_id, name, status, created_at, updated_at) "
        "VALUES (:id, :profile_id, 'intruder', 'ACTIVE', now(), now())"
    )
    for foreign in (w.a2.profile_id, w.b.profile_id):
        async with tenant_session(pg_sessions, w.a) as session, session.begin():
            with pytest.raises(DBAPIError, match="row-level security"):
                await session.execute(insert, {"id": project_id, "profile_id": foreign})
    # Moving an own row to another profile is rejected by WITH CHECK as well.
    async with tenant_session(pg_sessions, w.a) as session, session.begin():
        with pytest.raises(DBAPIError, match="row-level security"):
            await session.execute(
                text("UPDATE jobs SET profile_id = :other WHERE id = :id"),
                {"other": w.b.profile_id, "id": w.a.job_id},
            )
    # The same statement for the own profile goes through: the policy, not the SQL, refused.
    async with tenant_session(pg_sessions, w.a) as session, session.begin():
        await session.execute(insert, {"id": project_id, "profile_id": w.a.profile_id})
    async with pg_sessions.system() as session:
        owner = await session.scalar(
            text("SELECT profile_id FROM projects WHERE id = :id"), {"id": project_id}
        )
        job_owner = await session.scalar(
            text("SELECT profile_id FROM jobs WHERE id = :id"), {"id": w.a.job_id}
        )
    assert owner == w.a.profile_id
    assert job_owner == w.a.profile_id


async def test_users_are_read_only_for_tenants(
    pg_sessions: SessionFactory, pg_world: World
) -> None:
    async with tenant_session(pg_sessions, pg_world.a) as session, session.begin():
        with pytest.raises(DBAPIError, match="permission denied"):
            await session.execute(
                text("UPDATE users SET email = 'x@example.com' WHERE id = :id"),
                {"id": pg_world.a.user_id},
            )


async def test_tenant_transactions_run_as_a_role_that_cannot_bypass_rls(
    pg_sessions: SessionFactory, pg_world: World, tenant_role: str
) -> None:
    async with tenant_session(pg_sessions, pg_world.a) as session:
        row = (
            await session.execute(
                text(
                    "SELECT current_user AS role, "
                    "current_setting('app.profile_id') AS profile_id, "
                    "current_setting('app.user_id') AS user_id"
                )
            )
        ).one()
    assert row.role == tenant_role
    assert row.profile_id == str(pg_world.a.profile_id)
    assert row.user_id == str(pg_world.a.user_id)

    async with pg_sessions.system() as session:
        role = (
            await session.execute(
                text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"),
                {"r": tenant_role},
            )
        ).one()
        owners = set(
            (
                await session.scalars(
                    text("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")
                )
            ).all()
        )
    assert (role.rolsuper, role.rolbypassrls) == (False, False)
    assert owners
    assert tenant_role not in owners


async def test_scope_and_role_do_not_leak_to_the_next_transaction(
    pg_url: str, tenant_role: str, pg_world: World
) -> None:
    # One pooled connection, so the system session reuses the tenant's connection.
    engine = create_async_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        sessions = SessionFactory(engine, tenant_role)
        async with tenant_session(sessions, pg_world.a) as session:
            assert await session.scalar(text("SELECT current_user")) == tenant_role
            await session.commit()
        async with sessions.system() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT current_user AS role, "
                        "coalesce(current_setting('app.profile_id', true), '') AS profile_id, "
                        "(SELECT count(*) FROM projects WHERE id = ANY(:ids)) AS projects"
                    ),
                    {"ids": list(pg_world.project_ids)},
                )
            ).one()
    finally:
        await engine.dispose()
    assert row.role != tenant_role
    assert row.profile_id == ""
    assert row.projects == 3


async def test_every_table_has_row_level_security_and_a_policy(
    pg_engine: AsyncEngine, tenant_role: str
) -> None:
    async with pg_engine.connect() as conn:
        tables = {
            r.relname: r
            for r in await conn.execute(
                text(
                    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
                )
            )
        }
        policies: dict[str, list[str]] = {}
        for r in await conn.execute(
            text("SELECT tablename, roles FROM pg_policies WHERE schemaname = 'public'")
        ):
            policies.setdefault(r.tablename, []).extend(r.roles)
    # Not vacuous: every mapped table is there (and anything added later is checked too).
    assert set(Base.metadata.tables) <= set(tables)
    unprotected = sorted(
        name for name, row in tables.items() if name != "alembic_version" and not row.relrowsecurity
    )
    without_policy = sorted(
        name
        for name in tables
        if name != "alembic_version" and tenant_role not in policies.get(name, [])
    )
    assert unprotected == []
    # Shared tables (persisted queries) have no policy: the tenant role gets no row.
    assert without_policy == sorted(SHARED_TABLES)
