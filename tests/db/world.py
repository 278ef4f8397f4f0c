"""Two users, three profiles, each profile with a project and one of every tenant row.

Created through a *system* session with fresh ids, so tests sharing the run's database
never see each other's rows: every assertion can be phrased over these ids.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from editai.clips.models import Clip
from editai.costs.models import ApiCost
from editai.db.tenancy import SessionFactory
from editai.jobs.models import Job
from editai.profiles.models import Profile, User
from editai.projects.models import Project
from editai.publishing.models import Publication, PublishMode
from editai.segments.models import Segment, SegmentKind
from editai.transcripts.models import Transcript
from editai.tts.models import Voiceover


@dataclass
class Tenant:
    """One profile's rows."""

    user_id: uuid.UUID
    profile_id: uuid.UUID
    project_id: uuid.UUID
    clip_ids: list[uuid.UUID] = field(default_factory=list)
    segment_ids: list[uuid.UUID] = field(default_factory=list)
    job_id: uuid.UUID = field(default_factory=uuid.uuid4)
    cost_id: uuid.UUID = field(default_factory=uuid.uuid4)
    publication_id: uuid.UUID = field(default_factory=uuid.uuid4)
    voiceover_id: uuid.UUID = field(default_factory=uuid.uuid4)
    transcript_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass
class World:
    a: Tenant  # user 1, default profile
    a2: Tenant  # user 1, a second profile
    b: Tenant  # user 2, default profile

    @property
    def project_ids(self) -> set[uuid.UUID]:
        return {t.project_id for t in (self.a, self.a2, self.b)}


def _tenant(user_id: uuid.UUID) -> Tenant:
    return Tenant(
        user_id=user_id,
        profile_id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        clip_ids=[uuid.uuid4(), uuid.uuid4()],
        segment_ids=[uuid.uuid4()],
    )


def _rows(t: Tenant, *, name: str, is_default: bool) -> list[object]:
    rows: list[object] = [
        Profile(
            id=t.profile_id,
            user_id=t.user_id,
            name=name,
            name_key=name.lower(),
            is_default=is_default,
        ),
        Project(id=t.project_id, profile_id=t.profile_id, name=f"{name} project"),
    ]
    for i, clip_id in enumerate(t.clip_ids):
        rows.append(
            Clip(
                id=clip_id,
                profile_id=t.profile_id,
                project_id=t.project_id,
                variant_index=i,
                start_seconds=float(i),
                end_seconds=float(i) + 1,
            )
        )
    for segment_id in t.segment_ids:
        rows.append(
            Segment(
                id=segment_id,
                profile_id=t.profile_id,
                project_id=t.project_id,
                kind=SegmentKind.SCENE,
                start_seconds=0.0,
                end_seconds=1.0,
            )
        )
    rows += [
        Job(id=t.job_id, profile_id=t.profile_id, project_id=t.project_id, kind="test"),
        ApiCost(
            id=t.cost_id,
            profile_id=t.profile_id,
            job_id=t.job_id,
            provider="gemini",
            operation="test",
            units="tokens",
            quantity=1.0,
            cost_usd=Decimal("0.001"),
        ),
        Publication(
            id=t.publication_id,
            profile_id=t.profile_id,
            clip_id=t.clip_ids[0],
            integration_id="integration-1",
            mode=PublishMode.NOW,
            content="hello",
        ),
        Voiceover(
            id=t.voiceover_id,
            profile_id=t.profile_id,
            project_id=t.project_id,
            job_id=t.job_id,
            text="hello",
            provider="LOCAL",
            voice_id="en-us",
            characters=5,
            duration_seconds=0.5,
            media_path="x.wav",
            size_bytes=1,
        ),
        Transcript(
            id=t.transcript_id,
            profile_id=t.profile_id,
            project_id=t.project_id,
            language="en",
            duration_seconds=1.0,
            model="whisper-base-int8",
            segments=[{"text": "hello", "start": 0.0, "end": 0.5}],
            words=[{"text": "hello", "start": 0.0, "end": 0.5, "probability": 0.9}],
        ),
    ]
    return rows


async def create_world(sessions: SessionFactory) -> World:
    user1, user2 = uuid.uuid4(), uuid.uuid4()
    world = World(a=_tenant(user1), a2=_tenant(user1), b=_tenant(user2))
    rows = [
        _rows(world.a, name="Alpha", is_default=True),
        _rows(world.a2, name="Alpha Two", is_default=False),
        _rows(world.b, name="Beta", is_default=True),
    ]
    async with sessions.system_transaction() as session:
        session.add_all([User(id=user1), User(id=user2)])
        # The models have few relationships, so insert in foreign-key order explicitly.
        for layer in (
            (Profile,),
            (Project,),
            (Clip, Segment, Job),
            (ApiCost, Publication, Voiceover, Transcript),
        ):
            await session.flush()
            session.add_all(r for tenant_rows in rows for r in tenant_rows if isinstance(r, layer))
    return world
