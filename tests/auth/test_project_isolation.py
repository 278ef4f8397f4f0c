"""DESIGN §4: a project id of another profile is NOT_FOUND (never disclosed), and untouched."""

from __future__ import annotations

import pytest

from tests.api import Api

GET = "query($id: ID!) { project(id: $id) { id name } }"
UPDATE = (
    'mutation($id: ID!) { updateProject(id: $id, input: {name: "Hijacked", '
    'description: "pwned", status: ARCHIVED}) { id name } }'
)
DELETE = "mutation($id: ID!) { deleteProject(id: $id) }"


@pytest.mark.parametrize("intruder_kind", ["same user, other profile", "another user"])
async def test_project_of_another_profile_is_not_found(intruder_kind: str, api: Api) -> None:
    owner = await api.new_user()
    project_id = await owner.create_project("Launch trailer")
    if intruder_kind == "same user, other profile":
        token = owner.token
        profile_id: str | None = await owner.create_profile("Side channel")
    else:
        intruder = await api.new_user()
        token, profile_id = intruder.token, None

    for operation in (GET, UPDATE, DELETE):
        result = await api.gql(operation, {"id": project_id}, token=token, profile_id=profile_id)
        assert result.code == "NOT_FOUND", (operation, result)
        assert result.errors[0]["message"] == "Project not found"
        assert result.data is None
        assert "Launch trailer" not in str(result.body)

    # Same answer as for an id that never existed: nothing tells the two apart.
    missing = await api.gql(
        GET, {"id": "00000000-0000-4000-8000-000000000000"}, token=token, profile_id=profile_id
    )
    assert missing.code == "NOT_FOUND"
    assert missing.errors[0]["message"] == "Project not found"

    # Not listed in the intruder's profile either.
    listed = await api.gql(
        "{ projects { edges { node { id } } } }", token=token, profile_id=profile_id
    )
    assert project_id not in str(listed.ok())

    # The owner, in the owning profile, sees the project exactly as it was.
    seen = await owner.gql(
        "query($id: ID!) { project(id: $id) { id name description status } }",
        {"id": project_id},
    )
    assert seen.ok()["project"] == {
        "id": project_id,
        "name": "Launch trailer",
        "description": None,
        "status": "ACTIVE",
    }
    # ... and can still delete it (so the intruder's delete really did nothing).
    deleted = await owner.gql(DELETE, {"id": project_id})
    assert deleted.ok()["deleteProject"] == project_id
