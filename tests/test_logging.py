"""Structured logs: request_id, user_id and profile_id on every line of a request.

Nobody passes them by hand: the middleware binds request_id, the GraphQL view binds
user_id/profile_id once the token and X-Profile-Id are checked, and every line logged
later in that request (resolvers, error logging, the access line) carries them. The
lines are captured as the production JSON output of ``configure_logging``.
"""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

import editai.logging as editai_logging
from editai.logging import configure_logging, get_logger
from editai.projects.service import ProjectService
from tests.api import Api, GraphQLResult

# Logging does not depend on the database backend.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


class JsonLines:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def clear(self) -> None:
        self.stream.seek(0)
        self.stream.truncate()

    def server_lines(self) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.stream.getvalue().splitlines() if line]
        # httpx logs on the client side of the in-process transport: not a server line.
        return [line for line in lines if line.get("logger") != "httpx"]


@pytest.fixture
def json_logs() -> Iterator[JsonLines]:
    """The real ``configure_logging(as_json=True)``, captured; global state restored after."""
    root = logging.getLogger()
    handlers_before = list(root.handlers)
    formatters_before = [(h, h.formatter) for h in handlers_before]
    level_before = root.level
    structlog_before = structlog.get_config()
    configured_before = editai_logging._configured

    editai_logging._configured = False  # so it installs its own handler
    configure_logging("INFO", as_json=True)
    # Module-level loggers must not cache this configuration beyond the test.
    structlog.configure(cache_logger_on_first_use=False)
    installed = [h for h in root.handlers if h not in handlers_before]
    assert installed, "configure_logging installed no handler"
    capture = JsonLines()
    handler = logging.StreamHandler(capture.stream)
    handler.setFormatter(installed[0].formatter)
    root.addHandler(handler)
    try:
        yield capture
    finally:
        for h in list(root.handlers):
            if h not in handlers_before:
                root.removeHandler(h)
        for h, formatter in formatters_before:
            h.setFormatter(formatter)
        root.setLevel(level_before)
        structlog.configure(**structlog_before)
        editai_logging._configured = configured_before


async def _post(api: Api, query: str, headers: dict[str, str]) -> tuple[GraphQLResult, str]:
    response = await api.client.post("/graphql", json={"query": query}, headers=headers)
    return GraphQLResult(response.status_code, response.json()), response.headers["x-request-id"]


async def test_every_line_of_a_request_carries_its_context(
    api: Api, json_logs: JsonLines, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await api.new_user()
    profile_id = await user.create_profile("Logged")
    ok_project = await user.create_project("Fine", profile_id=profile_id)
    broken_project = await user.create_project("Broken", profile_id=profile_id)

    # Service code that logs, as real code does: no ids passed. One lookup also fails
    # unexpectedly, so the schema's error logging runs inside the request too.
    service_log = get_logger("editai.projects")
    original_get = ProjectService.get

    async def logging_get(self: ProjectService, project_id: uuid.UUID) -> Any:
        service_log.info("loading project", project=str(project_id))
        if str(project_id) == broken_project:
            raise RuntimeError("disk on fire")
        return await original_get(self, project_id)

    monkeypatch.setattr(ProjectService, "get", logging_get)

    json_logs.clear()
    # Sibling fields: graphql-core resolves them concurrently, in tasks of their own.
    query = (
        f'{{ a: project(id: "{ok_project}") {{ id }} b: project(id: "{broken_project}") {{ id }} }}'
    )
    result, request_id = await _post(
        api,
        query,
        {"Authorization": f"Bearer {user.token}", "X-Profile-Id": profile_id},
    )
    assert result.codes == ["INTERNAL_SERVER_ERROR"]
    assert "disk on fire" not in json.dumps(result.body)  # masked for the client...
    lines = json_logs.server_lines()
    events = sorted(line["event"] for line in lines)
    assert events == [
        "loading project",
        "loading project",
        "request",
        "unhandled error in resolver",
    ]
    for line in lines:
        assert line.get("request_id") == request_id, line
        assert line.get("user_id") == user.id, line
        assert line.get("profile_id") == profile_id, line
    error_line = next(line for line in lines if line["event"] == "unhandled error in resolver")
    assert "disk on fire" in error_line["exception"]  # ...but kept in the server log
    assert error_line["path"] == "b"
    access = next(line for line in lines if line["event"] == "request")
    assert (access["logger"], access["path"], access["status"]) == ("editai.http", "/graphql", 200)
    assert access["level"] == "info"
    assert access["timestamp"]

    # Nothing of that request stays bound: not in the caller, not in the next request.
    assert structlog.contextvars.get_contextvars() == {}
    other = await api.new_user()
    json_logs.clear()
    result, other_request_id = await _post(
        api, "{ currentProfile { id } }", {"Authorization": f"Bearer {other.token}"}
    )
    result.ok()
    assert other_request_id != request_id
    [line] = json_logs.server_lines()
    assert line["request_id"] == other_request_id
    assert line["user_id"] == other.id
    assert line["profile_id"] == other.default_profile_id

    json_logs.clear()
    result, anonymous_request_id = await _post(api, "{ health { status } }", {})
    result.ok()
    [line] = json_logs.server_lines()
    assert line["request_id"] == anonymous_request_id
    assert "user_id" not in line
    assert "profile_id" not in line


async def test_supplied_request_id_is_reused_when_safe(api: Api, json_logs: JsonLines) -> None:
    user = await api.new_user()
    auth = {"Authorization": f"Bearer {user.token}"}
    for safe in ("req-42", "a1B2.c3_d4-e5", "x" * 64):
        json_logs.clear()
        _, request_id = await _post(
            api, "{ currentProfile { id } }", {**auth, "X-Request-Id": safe}
        )
        assert request_id == safe
        assert [line["request_id"] for line in json_logs.server_lines()] == [safe]

    for unsafe in ("has space", "x" * 65, 'quote"d', "new\\nline", "ümlaut", ""):
        json_logs.clear()
        raw = unsafe.encode("utf-8")  # raw bytes: httpx would refuse non-ASCII text
        response = await api.client.post(
            "/graphql",
            json={"query": "{ currentProfile { id } }"},
            headers={b"authorization": auth["Authorization"].encode(), b"x-request-id": raw},
        )
        request_id = response.headers["x-request-id"]
        assert request_id != unsafe
        assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id
        assert [line["request_id"] for line in json_logs.server_lines()] == [request_id]
        assert response.headers.get_list("x-request-id") == [request_id]
