"""Every /graphql answer is GraphQL JSON with a code, whatever fails (issue 7.4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from editai.app import create_app
from editai.db.engine import create_engine
from editai.settings import Settings
from tests.api import Api
from tests.conftest import make_settings
from tests.databases import ADMIN_URL

INTERNAL: dict[str, Any] = {
    "message": "Internal server error",
    "extensions": {"code": "INTERNAL_SERVER_ERROR"},
}


def _assert_internal(response: httpx.Response) -> None:
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    request_id = response.headers["x-request-id"]
    assert body == {
        "errors": [{**INTERNAL, "extensions": {**INTERNAL["extensions"], "requestId": request_id}}]
    }


def _unreachable_database_url(backend: str, tmp_path: Path) -> str:
    if backend == "postgres":
        # A real server, a database that does not exist: connecting fails.
        url = make_url(ADMIN_URL).set(database="editai_no_such_database")
        return url.render_as_string(hide_password=False)
    folder = tmp_path / "not-a-file.db"
    folder.mkdir()  # SQLite cannot open a directory as its database
    return f"sqlite+aiosqlite:///{folder}"


@pytest.fixture
async def broken_client(backend: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    url = _unreachable_database_url(backend, tmp_path)
    settings = make_settings(tmp_path, url, embedded_worker=False)
    engine = create_engine(settings, url)
    app = create_app(settings, engine=engine)  # no lifespan: it would try to reach the db
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c
    finally:
        await engine.dispose()


async def test_database_down_while_building_the_context(
    broken_client: httpx.AsyncClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    api = Api(broken_client, settings)
    token_user = await _token(api)
    response = await broken_client.post(
        "/graphql",
        json={"query": "{ currentProfile { id } }"},
        headers={"Authorization": f"Bearer {token_user}"},
    )
    _assert_internal(response)
    assert "Traceback" not in response.text


async def _token(api: Api) -> str:
    from editai.auth.tokens import mint_token

    return mint_token(api.settings, "6f1c0a52-4c57-4d1a-9c43-0d0f5a3c8e11", "a@example.test")


async def test_health_needs_no_database(broken_client: httpx.AsyncClient) -> None:
    response = await broken_client.get("/health")
    assert response.status_code == 200
    ready = await broken_client.get("/ready")
    assert ready.status_code == 503
    assert ready.json() == {"database": False}


async def test_an_error_in_any_endpoint_is_json(app: object) -> None:
    async def explode(_: Request) -> Response:
        raise RuntimeError("secret detail")

    app.router.routes.append(Route("/explode", explode))  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        response = await c.get("/explode")
    _assert_internal(response)
    assert "secret" not in response.text


@pytest.mark.parametrize(
    ("method", "body", "headers", "status"),
    [
        ("POST", b"{not json", {"content-type": "application/json"}, 400),
        ("POST", b'{"query": ""}', {"content-type": "application/json"}, 400),
        ("POST", b'{"variables": {}}', {"content-type": "application/json"}, 400),
        ("PUT", b"{}", {"content-type": "application/json"}, 405),
        ("DELETE", b"", {}, 405),
        ("POST", b"\xff\xfe\x00", {"content-type": "application/json"}, 400),
        ("POST", b"[" * 100_000, {"content-type": "application/json"}, 400),
        ("POST", b'{"query": {"a": 1}}', {"content-type": "application/json"}, 400),
        ("POST", b"[1, 2]", {"content-type": "application/json"}, 400),
    ],
)
async def test_http_refusals_are_graphql_json(
    client: httpx.AsyncClient, method: str, body: bytes, headers: dict[str, str], status: int
) -> None:
    response = await client.request(method, "/graphql", content=body, headers=headers)
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert errors
    assert all(e["extensions"]["code"] == "BAD_USER_INPUT" for e in errors), errors
    assert response.headers["x-request-id"]


async def test_unknown_paths_and_media_answer_json(client: httpx.AsyncClient) -> None:
    for path in ("/nope", "/media/../../etc/passwd", "/media/x"):
        response = await client.get(path)
        assert response.status_code in {403, 404}, (path, response.status_code)
        assert "Traceback" not in response.text
