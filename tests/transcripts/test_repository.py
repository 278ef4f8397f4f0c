"""TranscriptRepository on both databases: one row per project, overwritten, never shared.

Another profile's transcript is invisible through the repository (the ORM hook) and, on
PostgreSQL, through raw SQL too (row-level security; tests/db/test_rls.py covers every
tenant table, transcripts included, with the same world).
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError

from editai.db.tenancy import SessionFactory, TenancyViolation
from editai.projects.models import Project
from editai.transcripts.models import Transcript
from editai.transcripts.repository import TranscriptRepository
from editai.transcripts.words import TranscriptWord
from tests.db.world import Tenant, World, create_world


@pytest.fixture
async def world(sessions: SessionFactory) -> World:
    return await create_world(sessions)


def words(*spec: tuple[str, float, float]) -> list[dict[str, object]]:
    return [{"text": t, "start": s, "end": e, "probability": 0.9} for t, s, e in spec]


async def replace(sessions: SessionFactory, tenant: Tenant, text_: str, end: float) -> None:
    async with sessions.tenant_transaction(tenant.profile_id, tenant.user_id) as session:
        saved = await TranscriptRepository(session).replace(
            tenant.project_id,
            language="de",
            duration_seconds=end,
            model="whisper-base-int8",
            segments=[{"text": text_, "start": 0.0, "end": end}],
            words=words((text_, 0.1, end)),
        )
        assert saved.project_id == tenant.project_id
        assert saved.profile_id == tenant.profile_id
        assert saved.language == "de"


async def test_replace_overwrites_the_one_row_of_a_project(
    sessions: SessionFactory, world: World
) -> None:
    a = world.a
    await replace(sessions, a, "first", 2.0)
    await replace(sessions, a, "second", 3.0)
    async with sessions.tenant(a.profile_id, a.user_id) as session:
        found = await TranscriptRepository(session).for_project(a.project_id)
        count = await session.scalar(
            select(func.count())
            .select_from(Transcript)
            .where(Transcript.project_id == a.project_id)
        )
    assert count == 1
    assert found is not None
    assert found.id == a.transcript_id  # the row is kept, its content replaced
    assert found.duration_seconds == 3.0
    assert found.word_list() == (TranscriptWord("second", 0.1, 3.0, 0.9),)
    assert [s.text for s in found.segment_list()] == ["second"]


async def test_another_profile_cannot_read_or_overwrite_a_transcript(
    sessions: SessionFactory, world: World
) -> None:
    a, a2, b = world.a, world.a2, world.b
    for intruder in (a2, b):  # the same user's other profile, and another user
        async with sessions.tenant(intruder.profile_id, intruder.user_id) as session:
            repository = TranscriptRepository(session)
            assert await repository.for_project(a.project_id) is None
            found = await repository.for_projects([a.project_id, intruder.project_id])
            assert set(found) == {intruder.project_id}
            assert (await session.scalars(select(Transcript.id))).all() == [intruder.transcript_id]
    # Writing over another profile's transcript is refused (the repository's own check on
    # both databases; on PostgreSQL row-level security raises first), nothing changes.
    with pytest.raises((TenancyViolation, DBAPIError)):
        async with sessions.tenant_transaction(b.profile_id, b.user_id) as session:
            await TranscriptRepository(session).replace(
                a.project_id,
                language="xx",
                duration_seconds=9.0,
                model="intruder",
                segments=[],
                words=[],
            )
    async with sessions.system() as session:
        row = (
            await session.execute(
                select(Transcript.profile_id, Transcript.model).where(
                    Transcript.project_id == a.project_id
                )
            )
        ).one()
    assert (row.profile_id, row.model) == (a.profile_id, "whisper-base-int8")


async def test_a_transcript_goes_with_its_project(sessions: SessionFactory, world: World) -> None:
    a = world.a
    async with sessions.system_transaction() as session:
        await session.execute(delete(Project).where(Project.id == a.project_id))
    async with sessions.system() as session:
        left = await session.scalar(
            select(func.count()).select_from(Transcript).where(Transcript.id == a.transcript_id)
        )
    assert left == 0
