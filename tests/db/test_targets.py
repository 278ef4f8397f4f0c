"""require_targets (db/targets.py): ids the session's scope cannot see are NOT_FOUND."""

from __future__ import annotations

import uuid

import pytest

from editai.db.targets import Target, require_targets
from editai.db.tenancy import SessionFactory
from editai.errors import NotFound
from editai.jobs.models import Job
from editai.profiles.models import Profile
from editai.projects.models import Project
from tests.db.world import World


async def test_own_ids_pass_and_duplicates_count_once(
    sessions: SessionFactory, world: World
) -> None:
    a = world.a
    async with sessions.tenant_transaction(a.profile_id, a.user_id) as session:
        await require_targets(
            session,
            [
                Target.of(Project, [a.project_id, a.project_id], "Project not found"),
                Target.of(Job, a.job_id, "Job not found"),
            ],
        )
        await require_targets(session, [])
        # Ids only: nothing lands in the identity map for the write to see stale.
        assert not list(session.identity_map.values())


@pytest.mark.parametrize("foreign", ["other_profile", "other_user", "unknown"])
async def test_any_id_outside_the_scope_is_not_found(
    sessions: SessionFactory, world: World, foreign: str
) -> None:
    a = world.a
    other = {
        "other_profile": world.a2.project_id,
        "other_user": world.b.project_id,
        "unknown": uuid.uuid4(),
    }[foreign]
    async with sessions.tenant_transaction(a.profile_id, a.user_id) as session:
        with pytest.raises(NotFound, match=r"^Project not found$"):
            await require_targets(
                session, [Target.of(Project, [a.project_id, other], "Project not found")]
            )


async def test_profiles_are_checked_against_the_user(
    sessions: SessionFactory, world: World
) -> None:
    async with sessions.tenant_transaction(None, world.a.user_id) as session:
        own = Target.of(Profile, [world.a.profile_id, world.a2.profile_id], "Profile not found")
        await require_targets(session, [own])
        with pytest.raises(NotFound, match=r"^Profile not found$"):
            await require_targets(
                session, [Target.of(Profile, world.b.profile_id, "Profile not found")]
            )
