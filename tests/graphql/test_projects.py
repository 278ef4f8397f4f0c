"""Projects through the API: CRUD, archive, and Relay keyset pagination, on both backends."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from editai.db.tenancy import SessionFactory
from editai.projects.models import Project
from editai.settings import Settings
from tests.api import Api, GraphQLResult

if TYPE_CHECKING:
    from tests.api import TestUser

FIELDS = "id name description status createdAt updatedAt sourceVideo { durationSeconds }"
CREATE = f"""
mutation($input: CreateProjectInput!) {{ createProject(input: $input) {{ {FIELDS} }} }}
"""
UPDATE = f"""
mutation($id: ID!, $input: UpdateProjectInput!) {{
  updateProject(id: $id, input: $input) {{ {FIELDS} }}
}}
"""
GET = f"query($id: ID!) {{ project(id: $id) {{ {FIELDS} }} }}"
DELETE = "mutation($id: ID!) { deleteProject(id: $id) }"
LIST = """
query($first: Int, $after: String, $status: ProjectStatus) {
  projects(first: $first, after: $after, status: $status) {
    edges { cursor node { id name status } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def _list(user: TestUser, **variables: Any) -> GraphQLResult:
    return await user.gql(LIST, variables)


async def _page_through(user: TestUser, first: int, **variables: Any) -> list[dict[str, Any]]:
    """All pages of ``projects``, checking pageInfo on the way. Returns the pages."""
    pages: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = (await _list(user, first=first, after=after, **variables)).ok()["projects"]
        info = page["pageInfo"]
        edges = page["edges"]
        assert len(edges) <= first
        assert info["hasPreviousPage"] is (after is not None)
        if edges:
            assert info["startCursor"] == edges[0]["cursor"]
            assert info["endCursor"] == edges[-1]["cursor"]
        pages.append(page)
        assert len(pages) < 50, "pagination does not terminate"
        if not info["hasNextPage"]:
            return pages
        assert len(edges) == first  # a page short of `first` must be the last
        after = info["endCursor"]


def _ids(pages: list[dict[str, Any]]) -> list[str]:
    return [e["node"]["id"] for page in pages for e in page["edges"]]


async def _count(sessions: SessionFactory, profile_id: str) -> int:
    async with sessions.system() as session:
        n = await session.scalar(
            select(func.count())
            .select_from(Project)
            .where(Project.profile_id == uuid.UUID(profile_id))
        )
        return int(n or 0)


# --- CRUD --------------------------------------------------------------------------------


async def test_create_get_update_archive_delete(api: Api, sessions: SessionFactory) -> None:
    user = await api.new_user()
    created = (
        await user.gql(CREATE, {"input": {"name": "  Launch   video ", "description": "Q3"}})
    ).ok()["createProject"]
    assert created["name"] == "Launch video"
    assert created["description"] == "Q3"
    assert created["status"] == "ACTIVE"
    assert created["sourceVideo"] is None
    project_id = created["id"]

    async with sessions.system() as session:
        row = await session.get(Project, uuid.UUID(project_id))
        assert row is not None
        assert str(row.profile_id) == user.default_profile_id

    fetched = (await user.gql(GET, {"id": project_id})).ok()["project"]
    assert fetched == created

    # Partial update: only the description; null clears it.
    renamed = (await user.gql(UPDATE, {"id": project_id, "input": {"name": "Launch"}})).ok()
    assert renamed["updateProject"]["name"] == "Launch"
    assert renamed["updateProject"]["description"] == "Q3"
    cleared = (await user.gql(UPDATE, {"id": project_id, "input": {"description": None}})).ok()
    assert cleared["updateProject"]["description"] is None
    assert cleared["updateProject"]["name"] == "Launch"

    archived = (await user.gql(UPDATE, {"id": project_id, "input": {"status": "ARCHIVED"}})).ok()
    assert archived["updateProject"]["status"] == "ARCHIVED"
    assert (await user.gql(GET, {"id": project_id})).ok()["project"]["status"] == "ARCHIVED"
    async with sessions.system() as session:
        row = await session.get(Project, uuid.UUID(project_id))
        assert row is not None
        assert row.status == "ARCHIVED"
        assert (row.name, row.description) == ("Launch", None)

    restored = (await user.gql(UPDATE, {"id": project_id, "input": {"status": "ACTIVE"}})).ok()
    assert restored["updateProject"]["status"] == "ACTIVE"

    # status may not be nulled.
    assert (await user.gql(UPDATE, {"id": project_id, "input": {"status": None}})).code == (
        "BAD_USER_INPUT"
    )

    deleted = (await user.gql(DELETE, {"id": project_id})).ok()
    assert deleted["deleteProject"] == project_id
    assert (await user.gql(GET, {"id": project_id})).code == "NOT_FOUND"
    assert (await user.gql(DELETE, {"id": project_id})).code == "NOT_FOUND"
    assert (await user.gql(UPDATE, {"id": project_id, "input": {"name": "x"}})).code == (
        "NOT_FOUND"
    )
    async with sessions.system() as session:
        assert await session.get(Project, uuid.UUID(project_id)) is None


@pytest.mark.parametrize("name", ["", "   ", "\n\t", "p" * 201])
async def test_invalid_project_name_is_bad_user_input(
    api: Api, sessions: SessionFactory, name: str
) -> None:
    user = await api.new_user()
    result = await user.gql(CREATE, {"input": {"name": name}})
    assert result.code == "BAD_USER_INPUT"
    assert result.data is None
    assert await _count(sessions, user.default_profile_id) == 0

    project_id = await user.create_project("Valid")
    result = await user.gql(UPDATE, {"id": project_id, "input": {"name": name}})
    assert result.code == "BAD_USER_INPUT"
    assert (await user.gql(GET, {"id": project_id})).ok()["project"]["name"] == "Valid"


async def test_project_name_of_200_characters_is_accepted(api: Api) -> None:
    user = await api.new_user()
    data = (await user.gql(CREATE, {"input": {"name": "p" * 200}})).ok()
    assert data["createProject"]["name"] == "p" * 200


async def test_project_of_another_profile_is_not_found(api: Api, sessions: SessionFactory) -> None:
    alice = await api.new_user()
    other_profile = await alice.create_profile("Other")
    in_other = await alice.create_project("Elsewhere", profile_id=other_profile)
    bob = await api.new_user()

    # Alice in her default profile, and Bob, see nothing of it.
    for user in (alice, bob):
        assert (await user.gql(GET, {"id": in_other})).code == "NOT_FOUND"
        assert (await user.gql(DELETE, {"id": in_other})).code == "NOT_FOUND"
        result = await user.gql(UPDATE, {"id": in_other, "input": {"name": "Hijacked"}})
        assert result.code == "NOT_FOUND"
    assert (await alice.gql(GET, {"id": "not-a-uuid"})).code == "NOT_FOUND"

    fetched = (await alice.gql(GET, {"id": in_other}, profile_id=other_profile)).ok()
    assert fetched["project"]["name"] == "Elsewhere"  # untouched by the attempts above
    assert await _count(sessions, other_profile) == 1
    # Listing is per profile.
    assert (await _list(alice)).ok()["projects"]["edges"] == []


# --- pagination --------------------------------------------------------------------------


async def test_cursor_pagination_visits_every_project_once_newest_first(
    api: Api,
) -> None:
    user = await api.new_user()
    created = [await user.create_project(f"Project {i}") for i in range(7)]
    newest_first = list(reversed(created))

    pages = await _page_through(user, first=3)
    assert [len(p["edges"]) for p in pages] == [3, 3, 1]
    assert _ids(pages) == newest_first
    assert pages[0]["pageInfo"]["hasPreviousPage"] is False
    assert all(p["pageInfo"]["hasPreviousPage"] for p in pages[1:])
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]

    # An exact multiple of the page size: the last full page says there is no more.
    exact = await _page_through(user, first=7)
    assert len(exact) == 1
    assert _ids(exact) == newest_first
    assert exact[0]["pageInfo"]["hasNextPage"] is False

    # The default page size covers them all.
    default = (await _list(user)).ok()["projects"]
    assert [e["node"]["id"] for e in default["edges"]] == newest_first
    assert default["pageInfo"]["hasNextPage"] is False

    # A cursor from the middle resumes right after that project.
    middle = pages[0]["edges"][1]["cursor"]
    resumed = (await _list(user, first=2, after=middle)).ok()["projects"]
    assert [e["node"]["id"] for e in resumed["edges"]] == newest_first[2:4]


async def test_pagination_is_stable_when_timestamps_tie(api: Api, sessions: SessionFactory) -> None:
    """Keyset on (created_at, id): rows with the same timestamp are neither lost nor repeated."""
    user = await api.new_user()
    same_time = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    ids = [uuid.uuid4() for _ in range(5)]
    async with sessions.system() as session, session.begin():
        for i, project_id in enumerate(ids):
            session.add(
                Project(
                    id=project_id,
                    profile_id=uuid.UUID(user.default_profile_id),
                    name=f"Tied {i}",
                    status="ACTIVE",
                    created_at=same_time,
                    updated_at=same_time,
                )
            )
    newer = await user.create_project("Newer")

    pages = await _page_through(user, first=2)
    expected = [newer] + [str(i) for i in sorted(ids, reverse=True)]
    assert _ids(pages) == expected


async def test_status_filter(api: Api) -> None:
    user = await api.new_user()
    ids = [await user.create_project(f"P{i}") for i in range(5)]
    archived = {ids[1], ids[3]}
    for project_id in archived:
        (await user.gql(UPDATE, {"id": project_id, "input": {"status": "ARCHIVED"}})).ok()

    active_pages = await _page_through(user, first=2, status="ACTIVE")
    assert _ids(active_pages) == [ids[4], ids[2], ids[0]]
    assert all(e["node"]["status"] == "ACTIVE" for p in active_pages for e in p["edges"])

    archived_pages = await _page_through(user, first=1, status="ARCHIVED")
    assert _ids(archived_pages) == [ids[3], ids[1]]
    assert all(e["node"]["status"] == "ARCHIVED" for p in archived_pages for e in p["edges"])

    assert _ids(await _page_through(user, first=10)) == list(reversed(ids))

    assert (await _list(user, status="DELETED")).code == "BAD_USER_INPUT"


async def test_first_zero_returns_no_edges(api: Api) -> None:
    """Relay: ``first`` must be non-negative; 0 asks for an empty page (not an error)."""
    user = await api.new_user()
    empty = (await _list(user, first=0)).ok()["projects"]
    assert empty["edges"] == []
    assert empty["pageInfo"]["hasNextPage"] is False
    await user.create_project("One")
    page = (await _list(user, first=0)).ok()["projects"]
    assert page["edges"] == []
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["pageInfo"]["endCursor"] is None


async def test_page_size_limits(api: Api, settings: Settings) -> None:
    user = await api.new_user()
    await user.create_project("One")
    limit = settings.max_page_size
    assert limit == 100
    assert len((await _list(user, first=limit)).ok()["projects"]["edges"]) == 1
    for first in (limit + 1, 10_000, -1, -100):
        result = await _list(user, first=first)
        assert result.code == "BAD_USER_INPUT", first
        assert result.data is None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


GARBAGE_CURSORS = [
    "garbage",
    "!!!",
    "%%%%",
    "é",
    _b64(b"\xff\xfe\xfd"),
    _b64(b"not json"),
    _b64(json.dumps({"a": 1}).encode()),
    _b64(json.dumps(5).encode()),
    _b64(json.dumps(["2026-01-01T00:00:00+00:00"]).encode()),
    _b64(json.dumps(["2026-01-01T00:00:00+00:00", "not-a-uuid"]).encode()),
    _b64(json.dumps(["2026-01-01T00:00:00+00:00", 5]).encode()),
    _b64(json.dumps(["2026-01-01T00:00:00+00:00", None]).encode()),
    _b64(json.dumps(["2026-01-01T00:00:00+00:00", ["x"]]).encode()),
    _b64(json.dumps([None, str(uuid.uuid4())]).encode()),
    _b64(json.dumps(["2026-01-01T00:00:00", str(uuid.uuid4())]).encode()),  # naive time
    _b64(json.dumps(["yesterday", str(uuid.uuid4())]).encode()),
    _b64(json.dumps(["2026-01-01T00:00:00+00:00", str(uuid.uuid4()), 1]).encode()),
    # Valid ISO times whose UTC value is outside the datetime range.
    _b64(json.dumps(["9999-12-31T23:59:59-14:00", str(uuid.uuid4())]).encode()),
    _b64(json.dumps(["0001-01-01T00:00:00+14:00", str(uuid.uuid4())]).encode()),
]


@pytest.mark.parametrize("cursor", GARBAGE_CURSORS)
async def test_garbage_after_cursor_is_bad_user_input(api: Api, cursor: str) -> None:
    user = await api.new_user()
    result = await _list(user, first=3, after=cursor)
    assert result.code == "BAD_USER_INPUT", result
    assert result.data is None
