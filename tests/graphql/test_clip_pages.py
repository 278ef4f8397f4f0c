"""``Project.clips(first, after)``: pages of each project's clips, newest first, walked
with real cursors, for several projects in one request (one batched query), on both
databases. The statement is built once and bound per call (clips/repository.py).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from editai.clips.models import Clip
from editai.db.tenancy import SessionFactory
from tests.api import Api

PAGE = """query($first: Int!, $after: String) { projects(first: 10) { edges { node { name
    clips(first: $first, after: $after) {
      edges { cursor node { id variantIndex } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } } } }"""
CREATE = "mutation($n: String!) { createProject(input: {name: $n}) { id } }"


async def test_clip_pages_walk_every_project_with_real_cursors(
    api: Api, sessions: SessionFactory
) -> None:
    user = await api.new_user()
    other = await api.new_user()
    profile_id = uuid.UUID(user.default_profile_id)
    projects = {}
    for name, count in (("seven", 7), ("three", 3), ("none", 0)):
        created = (await user.gql(CREATE, {"n": name})).ok()["createProject"]["id"]
        projects[name] = (uuid.UUID(created), count)
    foreign = (await other.gql(CREATE, {"n": "foreign"})).ok()["createProject"]["id"]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    expected: dict[str, list[str]] = {}
    async with sessions.system_transaction() as session:
        for name, (project_id, count) in projects.items():
            ids = [uuid.uuid4() for _ in range(count)]
            for i, clip_id in enumerate(ids):
                session.add(
                    Clip(
                        id=clip_id,
                        profile_id=profile_id,
                        project_id=project_id,
                        variant_index=i,
                        start_seconds=float(i),
                        end_seconds=float(i) + 1,
                        created_at=base + timedelta(minutes=i),
                    )
                )
            expected[name] = [str(c) for c in reversed(ids)]  # newest first
        session.add(  # another profile's clip: never on any page
            Clip(
                profile_id=uuid.UUID(other.default_profile_id),
                project_id=uuid.UUID(foreign),
                variant_index=0,
                start_seconds=0.0,
                end_seconds=1.0,
                created_at=base,
            )
        )

    first = (await user.gql(PAGE, {"first": 3})).ok()
    pages = {e["node"]["name"]: e["node"]["clips"] for e in first["projects"]["edges"]}
    assert set(pages) == set(projects)
    for name, ids in expected.items():
        page = pages[name]
        assert [e["node"]["id"] for e in page["edges"]] == ids[:3]
        info = page["pageInfo"]
        assert info["hasNextPage"] is (len(ids) > 3)
        assert info["hasPreviousPage"] is False
        if ids:
            assert info["startCursor"] == page["edges"][0]["cursor"]
            assert info["endCursor"] == page["edges"][-1]["cursor"]
        else:
            assert info["startCursor"] is None
            assert info["endCursor"] is None

    # The next pages of "seven", by its end cursor (the same cursor for every project:
    # each answers with what is older than it).
    seen = list(expected["seven"][:3])
    after = pages["seven"]["pageInfo"]["endCursor"]
    while after is not None:
        data = (await user.gql(PAGE, {"first": 3, "after": after})).ok()
        page = next(
            e["node"]["clips"] for e in data["projects"]["edges"] if e["node"]["name"] == "seven"
        )
        assert page["pageInfo"]["hasPreviousPage"] is True
        seen += [e["node"]["id"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert seen == expected["seven"]
