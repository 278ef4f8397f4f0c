"""A write that names a row its profile cannot see is refused at once, even while SQLite's
write lock is taken (db/targets.py).

Before the targets were checked in a read first, such a write queued behind every real
write for the lock and, under load, answered "database busy" after the busy timeout
instead of NOT_FOUND (the 50-client load test's `foreign_write` saw it).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.auth.tokens import mint_token
from editai.db.tenancy import SessionFactory
from editai.jobs.models import Job, JobStatus
from editai.profiles.models import Profile
from editai.projects.models import Project
from editai.tts.models import Voiceover
from tests.api import Api
from tests.api import TestUser as ApiUser
from tests.db.world import Tenant, World, create_world
from tests.graphql.lifecycle import (
    nothing_held,
    sqlite_write_lock,
    sqlite_write_lock_free,
)

UPDATE_PROJECT = 'mutation($id: ID!) { updateProject(id: $id, input: {name: "x"}) { id name } }'


def _foreign_writes(mine: Tenant, other: Tenant) -> list[tuple[str, dict[str, Any], str]]:
    """(mutation, variables, the service's NOT_FOUND message) for every write that names
    a row, each naming ``other``'s row (``mine`` only where a second id is needed)."""
    project, clip = str(other.project_id), str(other.clip_ids[0])
    return [
        (UPDATE_PROJECT, {"id": project}, "Project not found"),
        ("mutation($id: ID!) { deleteProject(id: $id) }", {"id": project}, "Project not found"),
        (
            "mutation($p: ID!) { extractSegments(projectId: $p) { id } }",
            {"p": project},
            "Project not found",
        ),
        (
            "mutation($p: ID!) { analyzeVideo(projectId: $p) { id } }",
            {"p": project},
            "Project not found",
        ),
        (
            "mutation($p: ID!) { generateRawClips(projectId: $p) { id } }",
            {"p": project},
            "Project not found",
        ),
        (
            'mutation($p: ID!) { synthesizeVoiceover(projectId: $p, text: "hi") { id } }',
            {"p": project},
            "Project not found",
        ),
        (
            "mutation($c: [ID!]!) { exportClips(clipIds: $c) { id } }",
            {"c": [str(mine.clip_ids[0]), clip]},
            "Clip not found",
        ),
        (
            "mutation($c: [ID!]!, $v: ID!) { exportClips(clipIds: $c, input: {voiceoverId: $v})"
            " { id } }",
            {"c": [str(mine.clip_ids[0])], "v": str(other.voiceover_id)},
            "Voiceover not found",
        ),
        (
            "mutation($id: ID!) { deleteVoiceover(id: $id) }",
            {"id": str(other.voiceover_id)},
            "Voiceover not found",
        ),
        (
            "mutation($id: ID!) { cancelJob(id: $id) { id } }",
            {"id": str(other.job_id)},
            "Job not found",
        ),
        (
            "mutation($id: ID!) { retryJob(id: $id) { id } }",
            {"id": str(other.job_id)},
            "Job not found",
        ),
    ]


def _foreign_profile_writes(other_user: Tenant) -> list[tuple[str, dict[str, Any], str]]:
    profile = str(other_user.profile_id)
    return [
        (
            'mutation($id: ID!) { updateProfile(id: $id, input: {name: "x"}) { id } }',
            {"id": profile},
            "Profile not found",
        ),
        (
            "mutation($id: ID!) { setDefaultProfile(id: $id) { id } }",
            {"id": profile},
            "Profile not found",
        ),
    ]


def _every_foreign_write(world: World) -> list[tuple[str, dict[str, Any], str]]:
    """Rows of the user's other profile and of another user, and another user's profile."""
    return (
        _foreign_writes(world.a, world.a2)
        + _foreign_writes(world.a, world.b)
        + _foreign_profile_writes(world.b)
    )


async def _user_of(api: Api, world: World) -> ApiUser:
    """The world's first user, signed in, working in its default profile ``world.a``."""
    user_id = str(world.a.user_id)
    user = ApiUser(api=api, id=user_id, token=mint_token(api.settings, user_id, "a@example.test"))
    user.default_profile_id = str(world.a.profile_id)
    return user


async def _assert_refused_at_once(
    user: ApiUser, query: str, variables: dict[str, Any], message: str
) -> None:
    started = time.monotonic()
    result = await user.gql(query, variables)
    waited = time.monotonic() - started
    assert result.codes == ["NOT_FOUND"], (query, result)
    assert result.errors[0]["message"] == message, (query, result)
    assert result.data is None
    # The busy timeout is 5 s: a write that queued for the lock would take that long.
    assert waited < 1.0, (query, waited)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_foreign_writes_answer_not_found_while_the_write_lock_is_taken(
    quiet_api: Api, sessions: SessionFactory, engine: AsyncEngine
) -> None:
    world = await create_world(sessions)
    user = await _user_of(quiet_api, world)
    own = str(world.a.project_id)
    assert (await user.gql("{ currentProfile { id } }")).ok()  # signed in before the lock

    with sqlite_write_lock(engine):  # someone else's long write is in progress
        assert not sqlite_write_lock_free(engine)
        for query, variables, message in _every_foreign_write(world):
            await _assert_refused_at_once(user, query, variables, message)
        # Control: a write about a row the profile owns does queue for the lock...
        own_write = asyncio.create_task(user.gql(UPDATE_PROJECT, {"id": own}))
        await asyncio.sleep(0.5)
        assert not own_write.done()
    # ...and goes through once the lock is free.
    assert (await own_write).ok()["updateProject"] == {"id": own, "name": "x"}
    await nothing_held(engine)


async def test_foreign_writes_answer_not_found_and_change_nothing(
    quiet_api: Api, sessions: SessionFactory, engine: AsyncEngine
) -> None:
    """Both backends, no lock held: the same answers, and the rows stay as they were."""
    world = await create_world(sessions)
    user = await _user_of(quiet_api, world)
    for query, variables, message in _every_foreign_write(world):
        await _assert_refused_at_once(user, query, variables, message)
    for tenant in (world.a2, world.b):
        async with sessions.tenant_transaction(tenant.profile_id, tenant.user_id) as session:
            project = await session.get(Project, tenant.project_id)
            job = await session.get(Job, tenant.job_id)
            voiceover = await session.get(Voiceover, tenant.voiceover_id)
            assert project is not None
            assert project.name.endswith("project")
            assert job is not None
            assert job.status is JobStatus.QUEUED
            assert voiceover is not None
    async with sessions.tenant_transaction(None, world.b.user_id) as session:
        profile = await session.get(Profile, world.b.profile_id)
        assert profile is not None
        assert (profile.name, profile.is_default) == ("Beta", True)
    await nothing_held(engine)
