"""A typed client generator accepts the committed schema, and its client works.

ariadne-codegen reads ``schema.graphql`` and a few operations, writes a pydantic/httpx
client package; the package is imported and one client talks to the real app.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from starlette.applications import Starlette

from tests.api import Api

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schema.graphql"
CODEGEN = Path(sys.executable).parent / "ariadne-codegen"

OPERATIONS = """
mutation CreateProject($input: CreateProjectInput!) {
  createProject(input: $input) { id name description status createdAt }
}

query Projects($first: Int, $after: String) {
  projects(first: $first, after: $after) {
    edges { cursor node { id name status } }
    pageInfo { hasNextPage endCursor }
  }
}

query CurrentProfile {
  currentProfile { id name isDefault hasPostizApiKey }
}

query ProjectById($id: ID!) {
  project(id: $id) { id name }
}
"""


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    workdir = tmp_path_factory.mktemp("codegen")
    package = f"editai_client_{uuid.uuid4().hex[:8]}"
    (workdir / "operations.graphql").write_text(OPERATIONS)
    (workdir / "pyproject.toml").write_text(
        "[tool.ariadne-codegen]\n"
        f'schema_path = "{SCHEMA.as_posix()}"\n'
        'queries_path = "operations.graphql"\n'
        f'target_package_name = "{package}"\n'
        f'target_package_path = "{workdir.as_posix()}"\n'
        "async_client = true\n"
        "\n"
        "[tool.ariadne-codegen.scalars.DateTime]\n"
        'type = "datetime.datetime"\n'
    )
    result = subprocess.run(
        [str(CODEGEN)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"ariadne-codegen rejected the schema:\n{result.stderr}"
    assert (workdir / package / "client.py").is_file()

    sys.path.insert(0, str(workdir))
    try:
        yield importlib.import_module(package)
    finally:
        sys.path.remove(str(workdir))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]


def _client(package: ModuleType, app: Starlette, token: str) -> Any:
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {token}"},
    )
    return package.Client(url="http://testserver/graphql", http_client=http)


def test_generated_package_has_typed_operations(client_package: ModuleType) -> None:
    client_cls = client_package.Client
    for method in ("create_project", "projects", "current_profile", "project_by_id"):
        assert callable(getattr(client_cls, method, None)), method
    assert issubclass(client_package.CreateProjectInput, BaseModel)
    assert [m.name for m in client_package.ProjectStatus] == ["ACTIVE", "ARCHIVED"]


# Generated code is backend-independent; one backend is enough here.
@pytest.mark.parametrize("backend", ["postgres"])
async def test_generated_client_runs_against_the_server(
    client_package: ModuleType, app: Starlette, api: Api
) -> None:
    user = await api.new_user()
    before = datetime.now(UTC) - timedelta(seconds=5)

    async with _client(client_package, app, user.token) as client:
        profile: Any = await client.current_profile()
        assert type(profile) is client_package.CurrentProfile
        assert issubclass(client_package.CurrentProfile, BaseModel)
        assert profile.current_profile.id == user.default_profile_id
        assert profile.current_profile.is_default is True
        assert profile.current_profile.has_postiz_api_key is False

        created = []
        for name in ("First", "Second", "Third"):
            result = await client.create_project(
                input=client_package.CreateProjectInput(name=name, description=f"{name} cut")
            )
            project = result.create_project
            assert project.name == name
            assert project.description == f"{name} cut"
            assert project.status is client_package.ProjectStatus.ACTIVE
            assert isinstance(project.created_at, datetime)
            assert project.created_at >= before
            created.append(project.id)

        page1 = (await client.projects(first=2)).projects
        assert [e.node.name for e in page1.edges] == ["Third", "Second"]
        assert page1.page_info.has_next_page is True
        assert page1.page_info.end_cursor == page1.edges[-1].cursor
        page2 = (await client.projects(first=2, after=page1.page_info.end_cursor)).projects
        assert [e.node.name for e in page2.edges] == ["First"]
        assert page2.page_info.has_next_page is False
        ids = [e.node.id for e in page1.edges + page2.edges]
        assert ids == list(reversed(created))

        # Errors come back as the client's exception, with the API's error code.
        with pytest.raises(client_package.GraphQLClientGraphQLMultiError) as raised:
            await client.project_by_id(id=str(uuid.uuid4()))
        codes = [(e.extensions or {}).get("code") for e in raised.value.errors]
        assert codes == ["NOT_FOUND"]
