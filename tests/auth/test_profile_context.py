"""DESIGN §4: first sight of a user, and the X-Profile-Id header rows."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.auth.tokens import mint_token
from editai.settings import Settings
from tests.api import Api
from tests.auth.helpers import PROTECTED_QUERIES, account_rows

if TYPE_CHECKING:
    from tests.api import TestUser

PROFILE_FIELDS = {k: v for k, v in PROTECTED_QUERIES.items() if k not in {"me", "profiles"}}


async def test_first_valid_token_creates_user_and_one_default_profile(
    api: Api, engine: AsyncEngine, settings: Settings
) -> None:
    sub = str(uuid.uuid4())
    token = mint_token(settings, sub, "first@example.test")
    before = await account_rows(engine, settings, sub)
    assert (before.users, before.profiles) == (0, 0)

    data = (await api.gql("{ me { id email profiles { id name isDefault } } }", token=token)).ok()
    assert data["me"]["id"] == sub
    assert data["me"]["email"] == "first@example.test"
    [profile] = data["me"]["profiles"]
    assert profile["name"] == "Default"
    assert profile["isDefault"] is True

    rows = await account_rows(engine, settings, sub)
    assert (rows.users, rows.profiles, rows.default_profiles) == (1, 1, 1)

    # Seen again (any field): nothing more is created.
    for query in ("{ me { id } }", "{ currentProfile { id } }", "{ profiles { id } }"):
        (await api.gql(query, token=token)).ok()
    again = await account_rows(engine, settings, sub)
    assert (again.users, again.profiles, again.default_profiles) == (1, 1, 1)


async def test_no_profile_header_means_the_default_profile(api: Api) -> None:
    user = await api.new_user()
    second = await user.create_profile("Second channel")
    for headers in ({}, {"X-Profile-Id": ""}, {"X-Profile-Id": "   "}):
        result = await api.gql(
            "{ currentProfile { id isDefault name } }", token=user.token, headers=headers
        )
        current = result.ok()["currentProfile"]
        assert current == {"id": user.default_profile_id, "isDefault": True, "name": "Default"}
        assert current["id"] != second


async def test_profile_header_selects_the_users_own_profile(api: Api) -> None:
    user = await api.new_user()
    second = await user.create_profile("Second channel")
    project = await user.create_project("In second", profile_id=second)

    current = (await user.gql("{ currentProfile { id name } }", profile_id=second)).ok()
    assert current["currentProfile"] == {"id": second, "name": "Second channel"}
    # Surrounding whitespace and upper case are still the same UUID.
    current = (await user.gql("{ currentProfile { id } }", profile_id=f" {second.upper()} ")).ok()
    assert current["currentProfile"]["id"] == second

    listed = (await user.gql("{ projects { edges { node { id } } } }", profile_id=second)).ok()
    assert [e["node"]["id"] for e in listed["projects"]["edges"]] == [project]
    default = (await user.gql("{ projects { edges { node { id } } } }")).ok()
    assert default["projects"]["edges"] == []


def _bad_headers(user: TestUser, other: TestUser) -> dict[str, tuple[str, str]]:
    """name -> (X-Profile-Id value, expected code)"""
    return {
        "not a uuid": ("abc", "NOT_FOUND"),
        "almost a uuid": (user.default_profile_id[:-1], "NOT_FOUND"),
        "sql-ish": ("' OR 1=1 --", "NOT_FOUND"),
        "uuid of no profile": (str(uuid.uuid4()), "NOT_FOUND"),
        "the user's own id (not a profile)": (user.id, "NOT_FOUND"),
        "another user's profile": (other.default_profile_id, "FORBIDDEN"),
    }


BAD_HEADER_CASES = [
    "not a uuid",
    "almost a uuid",
    "sql-ish",
    "uuid of no profile",
    "the user's own id (not a profile)",
    "another user's profile",
]


@pytest.mark.parametrize("case", BAD_HEADER_CASES)
async def test_bad_profile_header_on_profile_fields(case: str, api: Api) -> None:
    user = await api.new_user()
    other = await api.new_user()
    await other.create_project("Secret project")
    header, expected = _bad_headers(user, other)[case]
    for field, query in PROFILE_FIELDS.items():
        result = await api.gql(query, token=user.token, headers={"X-Profile-Id": header})
        assert result.code == expected, (field, result)
        assert result.data is None, (field, result)
        if expected == "NOT_FOUND":
            assert result.errors[0]["message"] == "Profile not found"
    # The refused createProject did not fall back to the default profile (or the other's).
    for who in (user, other):
        names = (await who.gql("{ projects { edges { node { name } } } }")).ok()
        expected_names = [] if who is user else [{"node": {"name": "Secret project"}}]
        assert names["projects"]["edges"] == expected_names


@pytest.mark.parametrize("case", BAD_HEADER_CASES)
async def test_me_and_profiles_still_work_with_a_bad_profile_header(case: str, api: Api) -> None:
    user = await api.new_user()
    other = await api.new_user()
    header, _ = _bad_headers(user, other)[case]
    result = await api.gql(
        "{ me { id profiles { id } } profiles { id isDefault } }",
        token=user.token,
        headers={"X-Profile-Id": header},
    )
    data = result.ok()
    assert data["me"]["id"] == user.id
    # Only the caller's own profiles, never the one named in the header.
    assert data["me"]["profiles"] == [{"id": user.default_profile_id}]
    assert data["profiles"] == [{"id": user.default_profile_id, "isDefault": True}]


async def test_bad_profile_header_on_first_sight_still_creates_the_account(
    api: Api, engine: AsyncEngine, settings: Settings
) -> None:
    sub = str(uuid.uuid4())
    token = mint_token(settings, sub)
    result = await api.gql("{ currentProfile { id } }", token=token, profile_id="abc")
    assert result.code == "NOT_FOUND"
    rows = await account_rows(engine, settings, sub)
    assert (rows.users, rows.profiles, rows.default_profiles) == (1, 1, 1)
    profiles = (await api.gql("{ profiles { id } }", token=token, profile_id="abc")).ok()
    assert len(profiles["profiles"]) == 1


async def test_forbidden_profile_leaks_nothing(api: Api) -> None:
    owner = await api.new_user()
    renamed = await owner.gql(
        'mutation($id: ID!) { updateProfile(id: $id, input: {name: "Owner brand"}) { name } }',
        {"id": owner.default_profile_id},
    )
    assert renamed.ok()["updateProfile"]["name"] == "Owner brand"
    intruder = await api.new_user()
    result = await api.gql(
        "{ currentProfile { id name } projects { edges { node { id name } } } }",
        token=intruder.token,
        profile_id=owner.default_profile_id,
    )
    assert set(result.codes) == {"FORBIDDEN"}
    assert result.data is None
    assert "Owner brand" not in str(result.body)


async def test_health_needs_no_token_even_with_a_bad_profile_header(api: Api) -> None:
    result = await api.gql("{ health { status } }", headers={"X-Profile-Id": "abc"})
    assert result.ok()["health"]["status"] == "ok"
