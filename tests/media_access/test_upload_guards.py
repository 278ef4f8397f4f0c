"""CSRF prevention and the upload size cap on /graphql."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from editai.graphql.uploads import FORM_OVERHEAD_BYTES
from tests.media_access.conftest import (
    UPLOAD,
    Env,
    EnvFactory,
    Samples,
    multipart_parts,
    upload_headers,
)


async def chunked(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


# --------------------------------------------------------------------------- CSRF


async def test_multipart_without_a_preflight_header_is_refused(env: Env, samples: Samples) -> None:
    user = await env.api.new_user()
    project_id = await user.create_project("CSRF")
    operations = json.dumps({"query": UPLOAD, "variables": {"projectId": project_id, "file": None}})
    form = {"operations": operations, "map": json.dumps({"0": ["variables.file"]})}
    auth = {"Authorization": f"Bearer {user.token}"}

    refused = await env.client.post(
        "/graphql", data=form, files={"0": ("a.mp4", samples.video)}, headers=auth
    )
    assert refused.status_code == 400
    body = refused.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Cross-Site Request Forgery" in error["message"]
    assert "Apollo-Require-Preflight" in error["message"]
    assert (await env.project_row(project_id)).source_path is None

    # An empty header value is no header.
    empty = await env.client.post(
        "/graphql",
        data=form,
        files={"0": ("a.mp4", samples.video)},
        headers={**auth, "Apollo-Require-Preflight": ""},
    )
    assert empty.status_code == 400

    for header in ("Apollo-Require-Preflight", "X-Apollo-Operation-Name"):
        accepted = await env.client.post(
            "/graphql",
            data=form,
            files={"0": ("a.mp4", samples.video)},
            headers={**auth, header: "Upload"},
        )
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["data"]["uploadSourceVideo"]["sourceVideo"]["width"] == 320


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "Multipart/Form-Data; boundary=x",
    ],
)
async def test_simple_content_types_are_refused(env: Env, content_type: str) -> None:
    response = await env.client.post(
        "/graphql",
        content=json.dumps({"query": "{ health { status } }"}),
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_json_requests_are_unaffected(env: Env) -> None:
    response = await env.client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}
    # GraphiQL (GET) is not an operation: unaffected too.
    page = await env.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200


# --------------------------------------------------------------------------- size cap

CAP = 50_000


@pytest.fixture
async def capped(make_env: EnvFactory) -> AsyncIterator[Env]:
    async with make_env(max_upload_bytes=CAP) as running:
        yield running


async def assert_nothing_stored(env: Env, project_id: str) -> None:
    assert (await env.project_row(project_id)).source_path is None
    assert env.media_files() == []
    assert env.upload_temp_files() == []


async def test_declared_length_over_the_cap_is_refused_unread(capped: Env) -> None:
    user = await capped.api.new_user()
    project_id = await user.create_project("Big")
    received = 0

    async def counted(parts: list[bytes]) -> AsyncIterator[bytes]:
        nonlocal received
        for part in parts:
            received += len(part)
            yield part

    parts = multipart_parts(project_id, 8 * CAP)
    headers = {**upload_headers(user.token), "Content-Length": str(sum(map(len, parts)))}
    response = await capped.client.post("/graphql", content=counted(parts), headers=headers)

    assert response.status_code == 413
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert str(CAP) in error["message"]
    assert received <= len(parts[0]) + 64 * 1024  # refused before the body was read
    await assert_nothing_stored(capped, project_id)


async def test_chunked_body_is_stopped_once_past_the_cap(capped: Env) -> None:
    user = await capped.api.new_user()
    project_id = await user.create_project("Chunked")
    received = 0

    async def counted(parts: list[bytes]) -> AsyncIterator[bytes]:
        nonlocal received
        for part in parts:
            received += len(part)
            yield part

    # No Content-Length: only counting the bytes can stop it.
    parts = multipart_parts(project_id, 40 * CAP, chunk=4096)
    response = await capped.client.post(
        "/graphql", content=counted(parts), headers=upload_headers(user.token)
    )

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert received < CAP + FORM_OVERHEAD_BYTES + 2 * 4096  # stopped, not drained
    await assert_nothing_stored(capped, project_id)


async def test_file_over_the_cap_inside_the_allowance_is_rejected(
    capped: Env, samples: Samples
) -> None:
    user = await capped.api.new_user()
    project_id = await user.create_project("Just over")
    content = samples.video  # a valid video, but larger than the cap
    assert CAP < len(content) < CAP + FORM_OVERHEAD_BYTES // 2

    result = await capped.upload(user, project_id, content)

    assert result.status_code == 200
    assert result.code == "BAD_USER_INPUT"
    assert str(CAP) in result.errors[0]["message"]
    await assert_nothing_stored(capped, project_id)


async def test_file_of_exactly_the_cap_is_accepted(make_env: EnvFactory, samples: Samples) -> None:
    async with make_env(max_upload_bytes=len(samples.video)) as exact:
        user = await exact.api.new_user()
        project_id = await user.create_project("Exact")
        result = await exact.upload(user, project_id, samples.video)
        assert result.ok()["uploadSourceVideo"]["sourceVideo"]["sizeBytes"] == len(samples.video)


async def test_malformed_json_is_a_graphql_json_400(env: Env) -> None:
    response = await env.client.post(
        "/graphql", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["message"] == "Unable to parse request body as JSON"
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
