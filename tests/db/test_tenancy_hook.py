"""The ORM tenant hook (``editai.db.tenancy``) on both backends.

Every test creates its own users and profiles (``world``), so exact assertions hold
even though the database is shared by the whole run.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, true, update
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from editai.clips.models import Clip
from editai.costs.models import ApiCost
from editai.db.tenancy import SessionFactory, TenancyViolation
from editai.jobs.models import Job
from editai.profiles.models import Profile
from editai.projects.models import Project
from editai.publishing.models import Publication
from editai.segments.models import Segment, SegmentKind
from editai.transcripts.models import Transcript
from tests.db.world import Tenant, World

SCOPED_MODELS: list[tuple[type[Any], str]] = [
    (Project, "project"),
    (Clip, "clips"),
    (Segment, "segments"),
    (Job, "job"),
    (ApiCost, "cost"),
    (Publication, "publication"),
    (Transcript, "transcript"),
]


def ids_of(tenant: Tenant, model: type[Any]) -> set[uuid.UUID]:
    return {
        Project: {tenant.project_id},
        Clip: set(tenant.clip_ids),
        Segment: set(tenant.segment_ids),
        Job: {tenant.job_id},
        ApiCost: {tenant.cost_id},
        Publication: {tenant.publication_id},
        Transcript: {tenant.transcript_id},
    }[model]


def session_of(sessions: SessionFactory, tenant: Tenant) -> AsyncSession:
    return sessions.tenant(tenant.profile_id, tenant.user_id)


async def project_names(sessions: SessionFactory, world: World) -> dict[uuid.UUID, str]:
    async with sessions.system() as session:
        rows = await session.execute(
            select(Project.id, Project.name).where(Project.id.in_(world.project_ids))
        )
        return {row.id: row.name for row in rows}


# --- reads ---------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "label"), SCOPED_MODELS)
async def test_select_returns_only_the_session_profiles_rows(
    sessions: SessionFactory, world: World, model: type[Any], label: str
) -> None:
    everything = ids_of(world.a, model) | ids_of(world.a2, model) | ids_of(world.b, model)
    async with session_of(sessions, world.a) as session:
        # Unfiltered: the profile is fresh, so exactly its own rows come back.
        all_rows = (await session.scalars(select(model))).all()
        # Asking for every profile's ids by name still yields only its own.
        by_id = (await session.scalars(select(model.id).where(model.id.in_(everything)))).all()
    assert {r.id for r in all_rows} == ids_of(world.a, model), label
    assert {r.profile_id for r in all_rows} == {world.a.profile_id}
    assert set(by_id) == ids_of(world.a, model)


async def test_get_by_primary_key_of_another_profile_is_none(
    sessions: SessionFactory, world: World
) -> None:
    async with session_of(sessions, world.a) as session:
        assert await session.get(Project, world.b.project_id) is None
        assert await session.get(Project, world.a2.project_id) is None  # same user, other profile
        own = await session.get(Project, world.a.project_id)
    assert own is not None
    assert own.profile_id == world.a.profile_id


async def test_the_same_statement_is_filtered_per_session_not_frozen_by_the_cache(
    sessions: SessionFactory, world: World
) -> None:
    # One statement object, executed under three scopes: a cached lambda that froze the
    # first profile id would return profile a's project every time.
    stmt = select(Project.id).where(Project.id.in_(world.project_ids))
    seen = {}
    for tenant in (world.a, world.a2, world.b, world.a):
        async with session_of(sessions, tenant) as session:
            seen[tenant.profile_id] = set((await session.scalars(stmt)).all())
    assert seen == {
        world.a.profile_id: {world.a.project_id},
        world.a2.profile_id: {world.a2.project_id},
        world.b.profile_id: {world.b.project_id},
    }


async def test_scoped_copies_of_a_statement_are_bounded_and_die_with_it(
    sessions: SessionFactory, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-statement cache of criteria-bearing copies (tenancy._with_criteria): past
    its bound the oldest scope is dropped (and rebuilt correctly when it comes back), and
    a statement's entry goes when the statement does."""
    import gc
    import weakref

    from editai.db import tenancy

    monkeypatch.setattr(tenancy, "_SCOPES_PER_STATEMENT", 1)
    stmt = select(Project.id).where(Project.id.in_(world.project_ids))
    for tenant in (world.a, world.b, world.a, world.a2, world.a):
        async with session_of(sessions, tenant) as session:
            assert set((await session.scalars(stmt)).all()) == {tenant.project_id}
        assert len(tenancy._FACTS[stmt].scoped) == 1
    alive = weakref.ref(stmt)
    del stmt
    gc.collect()
    assert alive() is None  # the cached copies do not keep their statement alive


async def test_join_is_filtered_on_both_entities(sessions: SessionFactory, world: World) -> None:
    all_clip_ids = set(world.a.clip_ids + world.a2.clip_ids + world.b.clip_ids)
    async with session_of(sessions, world.a) as session:
        # The ON clause does not relate the two entities to each other's profile: only the
        # hook's criteria on *both* sides keep other profiles' projects and clips out.
        rows = (
            await session.execute(
                select(Clip.id, Project.id)
                .join(Project, Project.id.in_(world.project_ids))
                .where(Clip.id.in_(all_clip_ids))
            )
        ).all()
        # Joined from the project side, through the relationship.
        via_relationship = (
            await session.execute(select(Project.id, Clip.id).join(Project.clips))
        ).all()
        outer = (
            await session.execute(
                select(Project.id, Job.id).outerjoin(Job, Job.project_id == Project.id)
            )
        ).all()
    assert sorted(rows) == sorted((c, world.a.project_id) for c in world.a.clip_ids)
    assert sorted(via_relationship) == sorted((world.a.project_id, c) for c in world.a.clip_ids)
    assert outer == [(world.a.project_id, world.a.job_id)]


async def test_subqueries_are_filtered(sessions: SessionFactory, world: World) -> None:
    async with session_of(sessions, world.a) as session:
        clip_count = await session.scalar(
            select(func.count()).select_from(select(Clip.id).subquery())
        )
        projects_with_clips = (
            await session.scalars(
                select(Project.id).where(
                    Project.id.in_(select(Clip.project_id).where(Clip.id.in_(world.b.clip_ids)))
                )
            )
        ).all()
    assert clip_count == len(world.a.clip_ids)
    assert projects_with_clips == []


async def test_aliased_entities_are_filtered(sessions: SessionFactory, world: World) -> None:
    project = aliased(Project)
    other = aliased(Project)
    async with session_of(sessions, world.a) as session:
        aliased_rows = (
            await session.scalars(select(project.id).where(project.id.in_(world.project_ids)))
        ).all()
        # A self-join of two aliases: both are filtered, so only (a, a) remains.
        pairs = (await session.execute(select(project.id, other.id).join(other, true()))).all()
        # An alias of a subquery (the shape of ClipRepository.first_per_project).
        inner = select(Clip).where(Clip.id.in_(world.a.clip_ids + world.b.clip_ids)).subquery()
        clip = aliased(Clip, inner)
        from_subquery = (await session.scalars(select(clip.id))).all()
    assert aliased_rows == [world.a.project_id]
    assert pairs == [(world.a.project_id, world.a.project_id)]
    assert set(from_subquery) == set(world.a.clip_ids)


# --- relationships -------------------------------------------------------------------


async def test_lazy_relationship_access_raises(sessions: SessionFactory, world: World) -> None:
    async with session_of(sessions, world.a) as session:
        project = await session.get(Project, world.a.project_id)
        clip = await session.get(Clip, world.a.clip_ids[0])
        assert project is not None
        assert clip is not None
        for load in (lambda: project.clips, lambda: project.jobs, lambda: clip.project):
            with pytest.raises(InvalidRequestError, match="lazy='raise'"):
                load()


async def test_selectinload_is_filtered_by_the_hook(sessions: SessionFactory, world: World) -> None:
    # A job of profile b that points at profile a's project (jobs.project_id is a plain
    # foreign key, so the database allows it): only the hook keeps it out of a's load.
    stray_job_id = uuid.uuid4()
    async with sessions.system_transaction() as session:
        session.add(
            Job(
                id=stray_job_id,
                profile_id=world.b.profile_id,
                project_id=world.a.project_id,
                kind="stray",
            )
        )
    async with session_of(sessions, world.a) as session:
        projects = (
            await session.scalars(
                select(Project).options(
                    selectinload(Project.clips),
                    selectinload(Project.segments),
                    selectinload(Project.jobs),
                )
            )
        ).all()
    assert [p.id for p in projects] == [world.a.project_id]
    [project] = projects
    assert {c.id for c in project.clips} == set(world.a.clip_ids)
    assert {s.id for s in project.segments} == set(world.a.segment_ids)
    assert [j.id for j in project.jobs] == [world.a.job_id]

    async with session_of(sessions, world.b) as session:
        job = (
            await session.scalars(
                select(Job).where(Job.id == stray_job_id).options(selectinload(Job.project))
            )
        ).one()
    assert job.project_id == world.a.project_id
    assert job.project is None  # a's project does not exist for profile b

    async with sessions.system() as session:  # the stray job was really there to be found
        project = (
            await session.scalars(
                select(Project)
                .where(Project.id == world.a.project_id)
                .options(selectinload(Project.jobs))
            )
        ).one()
    assert {j.id for j in project.jobs} == {world.a.job_id, stray_job_id}


async def test_explicit_relationship_refresh_is_filtered(
    sessions: SessionFactory, world: World
) -> None:
    stray_job_id = uuid.uuid4()
    async with sessions.system_transaction() as session:
        session.add(
            Job(
                id=stray_job_id,
                profile_id=world.b.profile_id,
                project_id=world.a.project_id,
                kind="stray",
            )
        )
    async with session_of(sessions, world.a) as session:
        project = await session.get(Project, world.a.project_id)
        assert project is not None
        await session.refresh(project, ["jobs", "clips"])
        assert [j.id for j in project.jobs] == [world.a.job_id]
        assert {c.id for c in project.clips} == set(world.a.clip_ids)


# --- bulk UPDATE / DELETE ------------------------------------------------------------


async def test_bulk_update_touches_only_the_session_profile(
    sessions: SessionFactory, world: World
) -> None:
    async with session_of(sessions, world.a) as session, session.begin():
        result = await session.execute(
            update(Project).where(Project.id.in_(world.project_ids)).values(name="renamed")
        )
        assert getattr(result, "rowcount", None) == 1
        # And with no WHERE at all: still only the session's rows.
        await session.execute(update(Project).values(description="touched"))
    async with sessions.system() as session:
        rows = {
            r.id: (r.name, r.description)
            for r in await session.execute(
                select(Project.id, Project.name, Project.description).where(
                    Project.id.in_(world.project_ids)
                )
            )
        }
    assert rows == {
        world.a.project_id: ("renamed", "touched"),
        world.a2.project_id: ("Alpha Two project", None),
        world.b.project_id: ("Beta project", None),
    }


async def test_bulk_delete_touches_only_the_session_profile(
    sessions: SessionFactory, world: World
) -> None:
    all_clips = world.a.clip_ids + world.a2.clip_ids + world.b.clip_ids
    async with session_of(sessions, world.a) as session, session.begin():
        result = await session.execute(delete(Clip).where(Clip.id.in_(all_clips)))
        assert getattr(result, "rowcount", None) == len(world.a.clip_ids)
        await session.execute(delete(Segment))  # no WHERE
    async with sessions.system() as session:
        clips_left = set(
            (await session.scalars(select(Clip.id).where(Clip.id.in_(all_clips)))).all()
        )
        segment_owners = set(
            (
                await session.scalars(
                    select(Segment.profile_id).where(
                        Segment.profile_id.in_([t.profile_id for t in (world.a, world.a2, world.b)])
                    )
                )
            ).all()
        )
    assert clips_left == set(world.a2.clip_ids + world.b.clip_ids)
    assert segment_owners == {world.a2.profile_id, world.b.profile_id}


async def test_bulk_update_by_primary_key_is_refused(
    sessions: SessionFactory, world: World
) -> None:
    # Bulk UPDATE by primary key ignores loader criteria: it would rename b's project.
    async with session_of(sessions, world.a) as session, session.begin():
        with pytest.raises(TenancyViolation, match="bulk UPDATE"):
            await session.execute(update(Project), [{"id": world.b.project_id, "name": "pwned"}])
    names = await project_names(sessions, world)
    assert names[world.b.project_id] == "Beta project"


async def test_bulk_update_cannot_move_rows_to_another_profile(
    sessions: SessionFactory, world: World
) -> None:
    async with session_of(sessions, world.a) as session, session.begin():
        with pytest.raises(TenancyViolation):
            await session.execute(
                update(Job).where(Job.id == world.a.job_id).values(profile_id=world.a2.profile_id)
            )
    async with sessions.system() as session:
        assert await session.scalar(select(Job.profile_id).where(Job.id == world.a.job_id)) == (
            world.a.profile_id
        )


# --- writes through the unit of work -------------------------------------------------


async def test_inserts_get_profile_id_stamped(sessions: SessionFactory, world: World) -> None:
    project_id, clip_id = uuid.uuid4(), uuid.uuid4()
    async with session_of(sessions, world.a) as session, session.begin():
        project = Project(id=project_id, name="stamped")
        session.add(project)
        await session.flush()
        assert project.profile_id == world.a.profile_id
        session.add(Clip(id=clip_id, project_id=project_id, start_seconds=0, end_seconds=1))
    async with sessions.system() as session:
        assert await session.scalar(select(Project.profile_id).where(Project.id == project_id)) == (
            world.a.profile_id
        )
        assert await session.scalar(select(Clip.profile_id).where(Clip.id == clip_id)) == (
            world.a.profile_id
        )


async def test_relationship_children_get_the_profile_stamped(
    sessions: SessionFactory, world: World
) -> None:
    project_id = uuid.uuid4()
    async with session_of(sessions, world.a) as session, session.begin():
        project = Project(id=project_id, name="with children")
        project.clips = [Clip(start_seconds=0, end_seconds=1)]
        project.segments = [
            Segment(kind=SegmentKind.SPEECH, start_seconds=0, end_seconds=1),
        ]
        session.add(project)
    async with sessions.system() as session:
        owners = (
            await session.execute(
                select(Clip.profile_id)
                .where(Clip.project_id == project_id)
                .union_all(select(Segment.profile_id).where(Segment.project_id == project_id))
            )
        ).scalars()
        assert list(owners) == [world.a.profile_id, world.a.profile_id]


async def test_insert_into_another_profile_raises(sessions: SessionFactory, world: World) -> None:
    project_id = uuid.uuid4()
    async with session_of(sessions, world.a) as session:
        session.add(Project(id=project_id, profile_id=world.a2.profile_id, name="intruder"))
        with pytest.raises(TenancyViolation, match="another profile"):
            await session.flush()
    async with session_of(sessions, world.a) as session, session.begin():
        with pytest.raises(TenancyViolation):
            await session.execute(
                insert(Project).values(id=project_id, profile_id=world.b.profile_id, name="x")
            )
    async with session_of(sessions, world.a) as session, session.begin():
        with pytest.raises(TenancyViolation):
            await session.execute(
                insert(Project), [{"id": project_id, "profile_id": world.b.profile_id, "name": "x"}]
            )
    async with session_of(sessions, world.a) as session, session.begin():
        returning = insert(Project).values(id=project_id, profile_id=world.b.profile_id, name="x")
        with pytest.raises(TenancyViolation):
            await session.scalars(select(Project).from_statement(returning.returning(Project)))
    async with sessions.system() as session:
        assert await session.get(Project, project_id) is None


async def test_orm_insert_statement_for_the_own_profile_is_allowed(
    sessions: SessionFactory, world: World
) -> None:
    project_id = uuid.uuid4()
    async with session_of(sessions, world.a) as session, session.begin():
        await session.execute(
            insert(Project), [{"id": project_id, "profile_id": world.a.profile_id, "name": "ok"}]
        )
        returned = (
            await session.scalars(
                select(Project).from_statement(
                    insert(Project)
                    .values(id=uuid.uuid4(), profile_id=world.a.profile_id, name="returned")
                    .returning(Project)
                )
            )
        ).one()
        assert returned.name == "returned"
        # An ORM INSERT must name its owner: it is not stamped like a flush.
        with pytest.raises(TenancyViolation):
            await session.execute(insert(Project).values(id=uuid.uuid4(), name="ownerless"))
    async with sessions.system() as session:
        assert await session.scalar(select(Project.profile_id).where(Project.id == project_id)) == (
            world.a.profile_id
        )


async def test_changing_profile_id_of_a_loaded_object_raises(
    sessions: SessionFactory, world: World
) -> None:
    async with session_of(sessions, world.a) as session:
        job = await session.get(Job, world.a.job_id)
        assert job is not None
        job.profile_id = world.a2.profile_id
        with pytest.raises(TenancyViolation, match="outside the session's scope"):
            await session.flush()
        await session.rollback()
    async with sessions.system() as session:
        assert await session.scalar(select(Job.profile_id).where(Job.id == world.a.job_id)) == (
            world.a.profile_id
        )


async def test_another_profiles_object_cannot_be_changed_or_deleted(
    sessions: SessionFactory, world: World
) -> None:
    # Loaded by a system session, then handed to a's session (the identity-map hole).
    async with sessions.system() as session:
        foreign = await session.get(Project, world.b.project_id)
    assert foreign is not None
    foreign.name = "hijacked"
    async with session_of(sessions, world.a) as session:
        session.add(foreign)
        with pytest.raises(TenancyViolation):
            await session.flush()
        await session.rollback()
    async with sessions.system() as session:
        foreign_again = await session.get(Project, world.b.project_id)
    assert foreign_again is not None
    async with session_of(sessions, world.a) as session:
        await session.delete(foreign_again)
        with pytest.raises(TenancyViolation):
            await session.flush()
        await session.rollback()
    assert (await project_names(sessions, world))[world.b.project_id] == "Beta project"


# --- sessions without a (full) scope -------------------------------------------------


async def test_unscoped_session_fails_closed(sessions: SessionFactory, world: World) -> None:
    async with sessions.unscoped() as session:
        with pytest.raises(TenancyViolation):
            await session.execute(select(Project))
        with pytest.raises(TenancyViolation):
            await session.execute(select(Clip.id).where(Clip.id.in_(world.a.clip_ids)))
        with pytest.raises(TenancyViolation):
            await session.get(Project, world.a.project_id)
        with pytest.raises(TenancyViolation):
            await session.execute(select(Profile))
        # An entity only named in FROM is not seen by the check; the backstop criterion
        # (``false()``) still returns nothing rather than everything.
        assert await session.scalar(select(func.count()).select_from(Project)) == 0
        await session.rollback()
    async with sessions.unscoped() as session, session.begin():
        with pytest.raises(TenancyViolation):
            await session.execute(update(Project).values(name="everyone"))
    async with sessions.unscoped() as session, session.begin():
        with pytest.raises(TenancyViolation):
            await session.execute(delete(Project))
    async with sessions.unscoped() as session:
        session.add(Project(name="orphan"))
        with pytest.raises(TenancyViolation, match="without a profile"):
            await session.flush()
    names = await project_names(sessions, world)
    assert set(names.values()) == {"Alpha project", "Alpha Two project", "Beta project"}


async def test_user_only_session_cannot_touch_profile_scoped_models(
    sessions: SessionFactory, world: World
) -> None:
    async with sessions.tenant(None, world.a.user_id) as session:
        # It works on its user's profiles (and only those) ...
        profiles = (await session.scalars(select(Profile.id))).all()
        assert set(profiles) == {world.a.profile_id, world.a2.profile_id}
        # ... but anything owned by a profile is out of reach.
        with pytest.raises(TenancyViolation):
            await session.execute(select(Project))
        with pytest.raises(TenancyViolation):
            await session.execute(select(Job.id))
        await session.rollback()
    async with sessions.tenant(None, world.a.user_id) as session, session.begin():
        with pytest.raises(TenancyViolation):
            await session.execute(delete(Clip))
    async with sessions.tenant(None, world.a.user_id) as session:
        session.add(Project(name="no profile"))
        with pytest.raises(TenancyViolation):
            await session.flush()
    async with sessions.system() as session:
        assert await session.scalar(
            select(func.count()).select_from(Clip).where(Clip.profile_id == world.a.profile_id)
        ) == len(world.a.clip_ids)


async def test_profiles_are_filtered_by_user(sessions: SessionFactory, world: World) -> None:
    async with session_of(sessions, world.a) as session:
        visible = set((await session.scalars(select(Profile.id))).all())
        assert await session.get(Profile, world.b.profile_id) is None
    assert visible == {world.a.profile_id, world.a2.profile_id}

    async with session_of(sessions, world.a) as session:
        session.add(Profile(user_id=world.b.user_id, name="Sneaky", name_key="sneaky"))
        with pytest.raises(TenancyViolation, match="another user"):
            await session.flush()
    async with session_of(sessions, world.a) as session, session.begin():
        await session.execute(update(Profile).values(description="mine"))
    async with sessions.system() as session:
        rows = await session.execute(
            select(Profile.id, Profile.description).where(
                Profile.user_id.in_([world.a.user_id, world.b.user_id])
            )
        )
        descriptions = {row.id: row.description for row in rows}
    assert descriptions == {
        world.a.profile_id: "mine",
        world.a2.profile_id: "mine",
        world.b.profile_id: None,
    }


async def test_system_session_sees_everything(sessions: SessionFactory, world: World) -> None:
    async with sessions.system() as session:
        projects = set(
            (
                await session.scalars(select(Project.id).where(Project.id.in_(world.project_ids)))
            ).all()
        )
        profiles = set(
            (
                await session.scalars(
                    select(Profile.id).where(
                        Profile.user_id.in_([world.a.user_id, world.b.user_id])
                    )
                )
            ).all()
        )
    assert projects == world.project_ids
    assert profiles == {world.a.profile_id, world.a2.profile_id, world.b.profile_id}


def test_a_tenant_session_needs_a_scope(sessions: SessionFactory) -> None:
    with pytest.raises(TenancyViolation):
        sessions.tenant(None, None)
