"""Profiles through the API (DESIGN §4-6), on PostgreSQL and SQLite.

Database facts are checked with a *system* session, which sees every row whatever
the API's tenant scoping does.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from graphql import GraphQLNamedType, GraphQLObjectType, get_named_type, is_required_argument
from sqlalchemy import func, select

from editai.crypto import decrypt_secret
from editai.db.tenancy import SessionFactory
from editai.graphql.schema import build_schema
from editai.profiles.models import Profile
from editai.projects.models import Project
from editai.settings import Settings
from tests.api import Api

if TYPE_CHECKING:
    from tests.api import TestUser

CREATE = """
mutation($input: CreateProfileInput!) {
  createProfile(input: $input) {
    id name description isDefault hasPostizApiKey postizApiUrl ttsProvider ttsVoiceId
  }
}
"""
UPDATE = """
mutation($id: ID!, $input: UpdateProfileInput!) {
  updateProfile(id: $id, input: $input) {
    id name description isDefault hasPostizApiKey postizApiUrl ttsProvider ttsVoiceId
  }
}
"""
SET_DEFAULT = "mutation($id: ID!) { setDefaultProfile(id: $id) { id isDefault } }"
DELETE = "mutation($id: ID!) { deleteProfile(id: $id) }"
PROFILES = "{ profiles { id name isDefault } }"


def _selection(type_: GraphQLNamedType, depth: int = 0) -> str:
    """A selection of every field of ``type_`` (recursing into object fields)."""
    assert isinstance(type_, GraphQLObjectType)
    parts: list[str] = []
    for name, field in type_.fields.items():
        if any(is_required_argument(arg) for arg in field.args.values()):
            continue  # a required argument; no such field on Profile today
        inner = get_named_type(field.type)
        if isinstance(inner, GraphQLObjectType):
            assert depth < 3, "unexpectedly deep Profile type"
            parts.append(f"{name} {{ {_selection(inner, depth + 1)} }}")
        else:
            parts.append(name)
    return " ".join(parts)


def every_profile_field() -> str:
    graphql_schema = build_schema()._schema
    profile_type = graphql_schema.type_map["Profile"]
    return _selection(profile_type)


async def _db_profile(sessions: SessionFactory, profile_id: str) -> Profile | None:
    async with sessions.system() as session:
        return await session.scalar(select(Profile).where(Profile.id == uuid.UUID(profile_id)))


async def _default_ids(sessions: SessionFactory, user: TestUser) -> list[uuid.UUID]:
    async with sessions.system() as session:
        rows = await session.scalars(
            select(Profile.id).where(
                Profile.user_id == uuid.UUID(user.id), Profile.is_default.is_(True)
            )
        )
        return list(rows.all())


async def _profile_count(sessions: SessionFactory, user: TestUser) -> int:
    async with sessions.system() as session:
        count = await session.scalar(
            select(func.count()).select_from(Profile).where(Profile.user_id == uuid.UUID(user.id))
        )
        return int(count or 0)


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", "\t\n", "x" * 101])
async def test_invalid_profile_name_is_bad_user_input(
    api: Api, sessions: SessionFactory, name: str
) -> None:
    user = await api.new_user()
    result = await user.gql(CREATE, {"input": {"name": name}})
    assert result.code == "BAD_USER_INPUT"
    assert result.data is None
    assert await _profile_count(sessions, user) == 1  # only the default profile


async def test_profile_name_of_100_characters_is_accepted(api: Api) -> None:
    user = await api.new_user()
    name = "n" * 100
    created = (await user.gql(CREATE, {"input": {"name": name}})).ok()["createProfile"]
    assert created["name"] == name
    assert created["isDefault"] is False
    # Also when renaming.
    result = await user.gql(UPDATE, {"id": created["id"], "input": {"name": "m" * 101}})
    assert result.code == "BAD_USER_INPUT"
    renamed = (await user.gql(UPDATE, {"id": created["id"], "input": {"name": "m" * 100}})).ok()
    assert renamed["updateProfile"]["name"] == "m" * 100


@pytest.mark.parametrize("name", ["Default", "default", " default ", "DEFAULT", "  DeFault\t"])
async def test_duplicate_name_for_same_user_is_conflict(
    api: Api, sessions: SessionFactory, name: str
) -> None:
    user = await api.new_user()  # already has "Default"
    result = await user.gql(CREATE, {"input": {"name": name}})
    assert result.code == "CONFLICT"
    assert result.data is None
    assert await _profile_count(sessions, user) == 1


async def test_duplicate_of_created_profile_name_is_conflict(api: Api) -> None:
    user = await api.new_user()
    await user.create_profile("My  Brand")
    result = await user.gql(CREATE, {"input": {"name": " my brand "}})
    assert result.code == "CONFLICT"


async def test_another_user_may_use_the_same_name(api: Api, sessions: SessionFactory) -> None:
    alice = await api.new_user()
    bob = await api.new_user()
    await alice.create_profile("Shared Name")
    created = (await bob.gql(CREATE, {"input": {"name": "Shared Name"}})).ok()["createProfile"]
    assert created["name"] == "Shared Name"
    assert await _profile_count(sessions, alice) == 2
    assert await _profile_count(sessions, bob) == 2


# --- update ------------------------------------------------------------------------------


async def test_update_profile_is_partial_and_null_clears_description(api: Api) -> None:
    user = await api.new_user()
    created = (
        await user.gql(
            CREATE,
            {
                "input": {
                    "name": "Brand",
                    "description": "about",
                    "ttsProvider": "EDGE",
                    "ttsVoiceId": "voice-1",
                    "postizApiUrl": "https://postiz.example.test/api",
                }
            },
        )
    ).ok()["createProfile"]
    assert created["description"] == "about"
    profile_id = created["id"]

    # Only the name changes.
    updated = (await user.gql(UPDATE, {"id": profile_id, "input": {"name": "Brand 2"}})).ok()
    assert updated["updateProfile"] == {**created, "name": "Brand 2"}

    # null clears the description; everything else stays.
    cleared = (await user.gql(UPDATE, {"id": profile_id, "input": {"description": None}})).ok()
    assert cleared["updateProfile"] == {**created, "name": "Brand 2", "description": None}

    # An empty input changes nothing.
    same = (await user.gql(UPDATE, {"id": profile_id, "input": {}})).ok()
    assert same["updateProfile"] == cleared["updateProfile"]

    # And the change is persisted, not just echoed.
    listed = (await user.gql("{ profiles { id name description ttsVoiceId } }")).ok()
    mine = next(p for p in listed["profiles"] if p["id"] == profile_id)
    assert mine == {
        "id": profile_id,
        "name": "Brand 2",
        "description": None,
        "ttsVoiceId": "voice-1",
    }


async def test_rename_to_taken_name_is_conflict_and_changes_nothing(
    api: Api, sessions: SessionFactory
) -> None:
    user = await api.new_user()
    profile_id = await user.create_profile("Second")
    result = await user.gql(
        UPDATE, {"id": profile_id, "input": {"name": " DEFAULT ", "description": "changed"}}
    )
    assert result.code == "CONFLICT"
    row = await _db_profile(sessions, profile_id)
    assert row is not None
    assert (row.name, row.description) == ("Second", None)


async def test_rename_to_own_name_in_other_case_is_allowed(api: Api) -> None:
    user = await api.new_user()
    profile_id = await user.create_profile("Second")
    data = (await user.gql(UPDATE, {"id": profile_id, "input": {"name": "SECOND"}})).ok()
    assert data["updateProfile"]["name"] == "SECOND"


async def test_update_of_unknown_or_foreign_profile_is_not_found(api: Api) -> None:
    alice = await api.new_user()
    bob = await api.new_user()
    bobs = await bob.create_profile("Bob's")
    for profile_id in (bobs, str(uuid.uuid4()), "not-a-uuid"):
        result = await alice.gql(UPDATE, {"id": profile_id, "input": {"name": "Mine now"}})
        assert result.code == "NOT_FOUND", profile_id
    names = {p["name"] for p in (await bob.gql(PROFILES)).ok()["profiles"]}
    assert names == {"Default", "Bob's"}


# --- delete ------------------------------------------------------------------------------


async def test_deleting_default_profile_is_refused(api: Api, sessions: SessionFactory) -> None:
    user = await api.new_user()
    project_id = await user.create_project("Keep me")
    result = await user.gql(DELETE, {"id": user.default_profile_id})
    assert result.code == "BAD_USER_INPUT"
    assert result.data is None
    assert await _db_profile(sessions, user.default_profile_id) is not None
    async with sessions.system() as session:
        assert await session.get(Project, uuid.UUID(project_id)) is not None
    assert await _default_ids(sessions, user) == [uuid.UUID(user.default_profile_id)]


async def test_deleting_a_profile_removes_it_and_its_projects(
    api: Api, sessions: SessionFactory
) -> None:
    user = await api.new_user()
    doomed = await user.create_profile("Doomed")
    for i in range(3):
        await user.create_project(f"Doomed project {i}", profile_id=doomed)
    kept_project = await user.create_project("Default project")

    async with sessions.system() as session:
        before = await session.scalar(
            select(func.count()).select_from(Project).where(Project.profile_id == uuid.UUID(doomed))
        )
    assert before == 3

    data = (await user.gql(DELETE, {"id": doomed})).ok()
    assert data["deleteProfile"] == doomed

    assert await _db_profile(sessions, doomed) is None
    async with sessions.system() as session:
        remaining = await session.scalar(
            select(func.count()).select_from(Project).where(Project.profile_id == uuid.UUID(doomed))
        )
        assert remaining == 0
        assert await session.get(Project, uuid.UUID(kept_project)) is not None

    # Gone from the API too, and a second delete finds nothing.
    ids = {p["id"] for p in (await user.gql(PROFILES)).ok()["profiles"]}
    assert ids == {user.default_profile_id}
    assert (await user.gql(DELETE, {"id": doomed})).code == "NOT_FOUND"
    assert (await user.gql("{ currentProfile { id } }", profile_id=doomed)).code == "NOT_FOUND"


async def test_cannot_delete_another_users_profile(api: Api, sessions: SessionFactory) -> None:
    alice = await api.new_user()
    bob = await api.new_user()
    bobs = await bob.create_profile("Bob's")
    assert (await alice.gql(DELETE, {"id": bobs})).code == "NOT_FOUND"
    assert await _db_profile(sessions, bobs) is not None


async def test_former_default_can_be_deleted_after_switching(
    api: Api, sessions: SessionFactory
) -> None:
    user = await api.new_user()
    other = await user.create_profile("Other")
    (await user.gql(SET_DEFAULT, {"id": other})).ok()
    data = (await user.gql(DELETE, {"id": user.default_profile_id})).ok()
    assert data["deleteProfile"] == user.default_profile_id
    assert await _default_ids(sessions, user) == [uuid.UUID(other)]
    # With no X-Profile-Id the request now works in the new default.
    assert (await user.gql("{ currentProfile { id } }")).ok()["currentProfile"]["id"] == other


# --- the one default ---------------------------------------------------------------------


async def test_set_default_profile_leaves_exactly_one_default(
    api: Api, sessions: SessionFactory
) -> None:
    user = await api.new_user()
    second = await user.create_profile("Second")
    third = await user.create_profile("Third")

    data = (await user.gql(SET_DEFAULT, {"id": second})).ok()
    assert data["setDefaultProfile"] == {"id": second, "isDefault": True}
    assert await _default_ids(sessions, user) == [uuid.UUID(second)]

    profiles = (await user.gql(PROFILES)).ok()["profiles"]
    assert [p["id"] for p in profiles if p["isDefault"]] == [second]
    assert profiles[0]["id"] == second  # default first

    # Idempotent, and switching again moves the flag.
    (await user.gql(SET_DEFAULT, {"id": second})).ok()
    assert await _default_ids(sessions, user) == [uuid.UUID(second)]
    (await user.gql(SET_DEFAULT, {"id": third})).ok()
    assert await _default_ids(sessions, user) == [uuid.UUID(third)]


async def test_set_default_of_unknown_or_foreign_profile_is_not_found(
    api: Api, sessions: SessionFactory
) -> None:
    alice = await api.new_user()
    bob = await api.new_user()
    bobs = await bob.create_profile("Bob's")
    for profile_id in (bobs, str(uuid.uuid4())):
        assert (await alice.gql(SET_DEFAULT, {"id": profile_id})).code == "NOT_FOUND"
    # A failed switch must not have cleared the existing default.
    assert await _default_ids(sessions, alice) == [uuid.UUID(alice.default_profile_id)]
    assert await _default_ids(sessions, bob) == [uuid.UUID(bob.default_profile_id)]


async def test_concurrent_set_default_leaves_exactly_one_default(
    api: Api, sessions: SessionFactory, backend: str
) -> None:
    """On PostgreSQL this races the row locks (it caught a lock-order deadlock; the race
    is probabilistic, hence several rounds). SQLite serializes writers."""
    user = await api.new_user()
    others = await api.new_user()  # another user's default must be untouched
    candidates = [user.default_profile_id]
    candidates += [await user.create_profile(f"Brand {i}") for i in range(9)]

    for _round in range(8 if backend == "postgres" else 3):
        results = await asyncio.gather(
            *(user.gql(SET_DEFAULT, {"id": pid}) for pid in reversed(candidates))
        )
        for result in results:
            assert result.ok()["setDefaultProfile"]["isDefault"] is True
        defaults = await _default_ids(sessions, user)
        assert len(defaults) == 1
        assert str(defaults[0]) in candidates
        listed = (await user.gql(PROFILES)).ok()["profiles"]
        assert [p["id"] for p in listed if p["isDefault"]] == [str(defaults[0])]

    assert await _default_ids(sessions, others) == [uuid.UUID(others.default_profile_id)]


# --- Postiz credentials ------------------------------------------------------------------


async def test_postiz_api_key_is_encrypted_at_rest_and_never_returned(
    api: Api, sessions: SessionFactory, settings: Settings
) -> None:
    user = await api.new_user()
    plaintext = f"postiz-SECRET-{uuid.uuid4().hex}"
    everything = every_profile_field()
    assert "hasPostizApiKey" in everything
    assert "postizApiUrl" in everything

    created = await user.gql(
        "mutation($input: CreateProfileInput!) "
        f"{{ createProfile(input: $input) {{ {everything} }} }}",
        {"input": {"name": "Social", "postizApiKey": plaintext}},
    )
    profile = created.ok()["createProfile"]
    assert profile["hasPostizApiKey"] is True
    responses: list[dict[str, Any]] = [created.body]

    # At rest: neither the plaintext nor a trivial encoding of it is stored.
    row = await _db_profile(sessions, profile["id"])
    assert row is not None
    assert row.postiz_api_key_encrypted is not None
    stored = bytes(row.postiz_api_key_encrypted)
    assert plaintext.encode() not in stored
    assert plaintext.encode().hex().encode() not in stored
    assert decrypt_secret(settings.secret_key.get_secret_value(), stored) == plaintext

    # Not readable through any query or mutation result.
    for query in (
        f"{{ profiles {{ {everything} }} }}",
        f"{{ me {{ id email profiles {{ {everything} }} }} }}",
    ):
        responses.append((await user.gql(query)).body)
    current = await user.gql(f"{{ currentProfile {{ {everything} }} }}", profile_id=profile["id"])
    assert current.ok()["currentProfile"]["hasPostizApiKey"] is True
    responses.append(current.body)
    updated = await user.gql(
        f'mutation($id: ID!) {{ updateProfile(id: $id, input: {{description: "d"}}) '
        f"{{ {everything} }} }}",
        {"id": profile["id"]},
    )
    assert updated.ok()["updateProfile"]["hasPostizApiKey"] is True  # partial update keeps it
    responses.append(updated.body)
    for body in responses:
        assert not body.get("errors"), body
        assert plaintext not in json.dumps(body)
        assert "SECRET" not in json.dumps(body)

    # Nor is it in the schema under some other name.
    assert "postizApiKey" not in everything
    assert "apiKey" not in everything.replace("hasPostizApiKey", "")


async def test_postiz_api_key_can_be_replaced_and_cleared(
    api: Api, sessions: SessionFactory, settings: Settings
) -> None:
    user = await api.new_user()
    profile_id = await user.create_profile("Social", postizApiKey="first-key")

    data = (
        await user.gql(UPDATE, {"id": profile_id, "input": {"postizApiKey": "second-key"}})
    ).ok()
    assert data["updateProfile"]["hasPostizApiKey"] is True
    row = await _db_profile(sessions, profile_id)
    assert row is not None
    assert row.postiz_api_key_encrypted is not None
    secret = settings.secret_key.get_secret_value()
    assert decrypt_secret(secret, bytes(row.postiz_api_key_encrypted)) == "second-key"

    data = (await user.gql(UPDATE, {"id": profile_id, "input": {"postizApiKey": None}})).ok()
    assert data["updateProfile"]["hasPostizApiKey"] is False
    row = await _db_profile(sessions, profile_id)
    assert row is not None
    assert row.postiz_api_key_encrypted is None


async def test_profile_without_postiz_key_reports_none(api: Api) -> None:
    user = await api.new_user()
    data = (await user.gql(CREATE, {"input": {"name": "Plain"}})).ok()
    assert data["createProfile"]["hasPostizApiKey"] is False


@pytest.mark.parametrize(
    "url", ["not a url", "ftp://postiz.example.test", "javascript:alert(1)", "https://", "//x.y"]
)
async def test_invalid_postiz_api_url_is_bad_user_input(
    api: Api, sessions: SessionFactory, url: str
) -> None:
    user = await api.new_user()
    result = await user.gql(CREATE, {"input": {"name": "Social", "postizApiUrl": url}})
    assert result.code == "BAD_USER_INPUT"
    assert await _profile_count(sessions, user) == 1

    profile_id = await user.create_profile("Social", postizApiUrl="https://ok.example.test")
    result = await user.gql(UPDATE, {"id": profile_id, "input": {"postizApiUrl": url}})
    assert result.code == "BAD_USER_INPUT"
    row = await _db_profile(sessions, profile_id)
    assert row is not None
    assert row.postiz_api_url == "https://ok.example.test"


@pytest.mark.parametrize("field", ["postizApiKey", "elevenlabsApiKey", "geminiApiKey"])
@pytest.mark.parametrize("key", ["clé-123", "two words", "tab\there", "emoji-\U0001f511"])
async def test_api_keys_hold_only_visible_ascii(
    api: Api, sessions: SessionFactory, field: str, key: str
) -> None:
    """Keys go into HTTP headers (ASCII only): refused on input, never stored, so no call
    with them can fail later (the fuzz found an INTERNAL_SERVER_ERROR there)."""
    user = await api.new_user()
    created = await user.gql(
        "mutation($input: CreateProfileInput!) { createProfile(input: $input) { id } }",
        {"input": {"name": f"Keys {uuid.uuid4().hex[:6]}", field: key}},
    )
    assert created.code == "BAD_USER_INPUT"
    assert created.errors[0]["extensions"]["field"] == field
    updated = await user.gql(
        "mutation($id: ID!, $input: UpdateProfileInput!) "
        "{ updateProfile(id: $id, input: $input) { id } }",
        {"id": user.default_profile_id, "input": {field: key}},
    )
    assert updated.code == "BAD_USER_INPUT"
    row = await _db_profile(sessions, user.default_profile_id)
    assert row is not None
    assert row.postiz_api_key_encrypted is None
    assert row.elevenlabs_api_key_encrypted is None
    assert row.gemini_api_key_encrypted is None
