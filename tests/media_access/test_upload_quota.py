"""The storage quota on an upload's body: refused before it is read, or while it streams.

Once the request's profile is known (from its headers), the body's cap is the room the
profile has left (quotas/uploads.py): a body declared past it is refused unread, a
chunked one as soon as the bytes received pass it; the answer is a 413 carrying
BAD_USER_INPUT and the quota's numbers, and nothing is stored or left spooled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from editai.graphql.uploads import FORM_OVERHEAD_BYTES
from tests.media_access.conftest import Env, EnvFactory, multipart_parts, upload_headers

QUOTA = 100_000


@pytest.fixture
async def quota_env(make_env: EnvFactory) -> AsyncIterator[Env]:
    async with make_env(profile_storage_quota_bytes=QUOTA) as running:
        yield running


class Counted:
    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts
        self.received = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            self.received += len(part)
            yield part


def quota_refusal(response: Any) -> dict[str, Any]:
    assert response.status_code == 413, response.text
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "storage quota" in error["message"]
    assert error["extensions"]["quotaBytes"] == QUOTA
    assert error["extensions"]["usedBytes"] == 0
    extensions: dict[str, Any] = error["extensions"]
    return extensions


async def assert_nothing_stored(env: Env, project_id: str) -> None:
    assert (await env.project_row(project_id)).source_path is None
    assert env.media_files() == []
    assert env.upload_temp_files() == []


async def test_declared_body_past_the_quota_is_refused_unread(quota_env: Env) -> None:
    user = await quota_env.api.new_user()
    project_id = await user.create_project("Over quota")
    body = Counted(multipart_parts(project_id, 8 * QUOTA))
    length = sum(map(len, body.parts))
    headers = {**upload_headers(user.token), "Content-Length": str(length)}

    response = await quota_env.client.post("/graphql", content=body, headers=headers)

    assert quota_refusal(response)["neededBytes"] == length
    assert body.received <= len(body.parts[0]) + 64 * 1024  # refused before the body
    await assert_nothing_stored(quota_env, project_id)


async def test_chunked_body_is_stopped_once_past_the_quota(quota_env: Env) -> None:
    user = await quota_env.api.new_user()
    project_id = await user.create_project("Chunked over quota")
    body = Counted(multipart_parts(project_id, 40 * QUOTA, chunk=4096))

    response = await quota_env.client.post(
        "/graphql", content=body, headers=upload_headers(user.token)
    )

    assert quota_refusal(response)["neededBytes"] > QUOTA
    assert body.received < QUOTA + FORM_OVERHEAD_BYTES + 2 * 4096  # stopped, not drained
    await assert_nothing_stored(quota_env, project_id)


async def test_an_upload_within_the_quota_still_goes_through(
    make_env: EnvFactory, samples: Any
) -> None:
    async with make_env(profile_storage_quota_bytes=len(samples.video)) as env:
        user = await env.api.new_user()
        project_id = await user.create_project("Fits exactly")
        result = await env.upload(user, project_id, samples.video)
        assert result.ok()["uploadSourceVideo"]["sourceVideo"]["sizeBytes"] == len(samples.video)
        used = (await user.gql("{ currentProfile { storageUsedBytes } }")).ok()
        assert used["currentProfile"]["storageUsedBytes"] == len(samples.video)


async def test_concurrent_uploads_never_pass_the_quota_together(
    make_env: EnvFactory, samples: Any
) -> None:
    """Two uploads of one profile, each within the quota but not both: exactly one lands,
    the other is refused with the numbers, whatever the interleaving (several rounds)."""
    size = len(samples.video)
    async with make_env(profile_storage_quota_bytes=size * 3 // 2) as env:
        for round_ in range(3):
            user = await env.api.new_user()
            projects = [await user.create_project(f"Race {round_} {n}") for n in range(2)]
            results = await asyncio.gather(
                *(env.upload(user, project_id, samples.video) for project_id in projects)
            )
            landed = [r for r in results if not r.errors]
            refused = [r for r in results if r.errors]
            assert len(landed) == 1, [r.errors for r in results]
            assert len(refused) == 1
            assert refused[0].codes == ["BAD_USER_INPUT"]
            (error,) = refused[0].errors
            assert "storage quota" in error["message"]
            assert error["extensions"]["usedBytes"] == size
            assert error["extensions"]["neededBytes"] == size
            used = (await user.gql("{ currentProfile { storageUsedBytes } }")).ok()
            assert used["currentProfile"]["storageUsedBytes"] == size
            rows = [(await env.project_row(p)).source_path for p in projects]
            assert sum(path is not None for path in rows) == 1
        assert len(env.media_files()) == 3  # one source per round, nothing half-stored
        assert env.upload_temp_files() == []
