"""Project.voiceovers: one query for a whole page of projects (DataLoader), newest first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from editai.db.tenancy import SessionFactory
from editai.tts.models import Voiceover
from tests.api import Api
from tests.statements import recorded_statements

PAGE = """
{ projects(first: 10) { edges { node { id voiceovers {
  id text provider voiceId words { text startSeconds endSeconds } downloadUrl
} } } } }
"""


async def test_voiceovers_of_a_page_of_projects_in_one_query(
    api: Api, sessions: SessionFactory, engine: AsyncEngine
) -> None:
    user = await api.new_user()
    profile_id = uuid.UUID(user.default_profile_id)
    projects = [await user.create_project(f"P{i}") for i in range(3)]
    start = datetime.now(UTC)
    expected: dict[str, list[str]] = {}
    async with sessions.tenant_transaction(profile_id, uuid.UUID(user.id)) as session:
        for index, project in enumerate(projects):
            for n in range(index + 1):  # 1, 2 and 3 voice-overs
                row = Voiceover(
                    id=uuid.uuid4(),
                    project_id=uuid.UUID(project),
                    text=f"take {n}",
                    provider="LOCAL",
                    voice_id="en-us",
                    characters=6,
                    duration_seconds=1.0,
                    media_path=f"{profile_id}/{project}/audio/{uuid.uuid4()}.m4a",
                    size_bytes=10,
                    words=[{"text": "take", "start": 0.0, "end": 0.4}],
                    timings_from_provider=True,
                    created_at=start + timedelta(seconds=n),
                )
                session.add(row)
                expected.setdefault(project, []).insert(0, str(row.id))

    with recorded_statements(engine) as seen:
        data = (await user.gql(PAGE)).ok()
    got = {e["node"]["id"]: e["node"]["voiceovers"] for e in data["projects"]["edges"]}
    assert {p: [v["id"] for v in vs] for p, vs in got.items()} == expected  # newest first
    first = got[projects[0]][0]
    assert first["words"] == [{"text": "take", "startSeconds": 0.0, "endSeconds": 0.4}]
    assert first["downloadUrl"].startswith("/media/")
    voiceover_queries = [s for s in seen if "FROM voiceovers" in s]
    assert len(voiceover_queries) == 1, voiceover_queries
