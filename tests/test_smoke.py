from __future__ import annotations

from tests.api import Api


async def test_health_is_public(api: Api) -> None:
    result = await api.gql("{ health { status database version } }")
    assert result.ok()["health"] == {"status": "ok", "database": True, "version": "0.1.0"}


async def test_new_user_gets_default_profile_and_creates_project(api: Api) -> None:
    user = await api.new_user()
    project_id = await user.create_project("Trailer")
    data = (await user.gql("{ projects { edges { node { id name status } } } }")).ok()
    assert data["projects"]["edges"] == [
        {"node": {"id": project_id, "name": "Trailer", "status": "ACTIVE"}}
    ]
