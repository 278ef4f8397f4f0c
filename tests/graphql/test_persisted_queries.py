"""Persisted queries (persisted_queries/): Apollo's automatic persisted queries as
``createPersistedQueryLink`` speaks them, shared by every server process through the
database and bounded; GET for queries only, never cached for another user; and the
production allow-list. Hashes are computed as the clients compute them: the sha256 of
the exact document text."""

from __future__ import annotations

import hashlib
import json
import uuid
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.auth.tokens import mint_token
from editai.db.tenancy import SessionFactory
from editai.persisted_queries.manifest import ManifestError
from editai.persisted_queries.models import PersistedQuery
from editai.projects.models import Project
from editai.settings import Settings
from tests.api import Api
from tests.api import TestUser as ApiUser  # not collected as a test class
from tests.graphql.lifecycle import quiet_app_api

PROJECTS = "query Projects { projects(first: 5) { edges { node { name } } } }"
CREATE = 'mutation Create { createProject(input: {name: "by GET"}) { id } }'


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def apq(document: str, *, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256(document)}}


def server(
    settings: Settings, engine: AsyncEngine, **overrides: Any
) -> AbstractAsyncContextManager[Api]:
    """One server process's app (its own memory) on the shared database."""
    return quiet_app_api(settings, engine, **overrides)


async def post(api: Api, user: ApiUser, body: dict[str, Any]) -> httpx.Response:
    return await api.client.post(
        "/graphql", json=body, headers={"Authorization": f"Bearer {user.token}"}
    )


async def stored(sessions: SessionFactory) -> list[str]:
    async with sessions.system() as session:
        return list((await session.scalars(select(PersistedQuery.sha256))).all())


def code_of(response: httpx.Response) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


async def test_the_apollo_client_flow_and_every_process_sees_the_document(
    settings: Settings, engine: AsyncEngine, sessions: SessionFactory
) -> None:
    async with server(settings, engine) as first, server(settings, engine) as second:
        user = await first.new_user()
        await user.create_project("persisted")
        # 1. The hash alone: unknown, answered as Apollo Client expects it.
        unknown = await post(first, user, {"extensions": apq(PROJECTS)})
        assert unknown.status_code == 200
        assert unknown.json()["data"] is None
        assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"
        assert code_of(unknown) == "PERSISTED_QUERY_NOT_FOUND"
        # 2. The client retries with the text and the hash: it runs, and is stored.
        full = await post(first, user, {"query": PROJECTS, "extensions": apq(PROJECTS)})
        answer = {"data": {"projects": {"edges": [{"node": {"name": "persisted"}}]}}}
        assert full.json() == answer
        assert await stored(sessions) == [sha256(PROJECTS)]
        # 3. The hash alone now runs, here and in another process (its memory is empty).
        for api in (first, second):
            again = await post(api, user, {"extensions": apq(PROJECTS)})
            assert again.json() == answer


async def test_a_hash_that_is_not_its_texts_is_refused_and_stores_nothing(
    api: Api, sessions: SessionFactory
) -> None:
    user = await api.new_user()
    other = "{ currentProfile { name } }"
    lying = await post(api, user, {"query": other, "extensions": apq(PROJECTS)})
    assert lying.status_code == 200
    assert code_of(lying) == "BAD_USER_INPUT"
    assert lying.json()["data"] is None
    assert await stored(sessions) == []
    # Nor did it teach the server anything: the hash is still unknown.
    assert code_of(await post(api, user, {"extensions": apq(PROJECTS)})) == (
        "PERSISTED_QUERY_NOT_FOUND"
    )


@pytest.mark.parametrize(
    "extension",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": sha256(PROJECTS)}},
        {"persistedQuery": {"version": 1, "sha256Hash": "not-a-hash"}},
        {"persistedQuery": {"version": 1, "sha256Hash": sha256(PROJECTS).upper()}},
        {"persistedQuery": "yes"},
    ],
)
async def test_malformed_persisted_query_extensions_are_bad_input(
    api: Api, extension: dict[str, Any]
) -> None:
    user = await api.new_user()
    response = await post(api, user, {"query": PROJECTS, "extensions": extension})
    assert code_of(response) == "BAD_USER_INPUT"


async def test_queries_by_get_are_never_cached_for_another_user_and_mutations_are_refused(
    api: Api, sessions: SessionFactory
) -> None:
    user = await api.new_user()
    await user.create_project("mine")
    # Stored by POST, as the link does on a miss; then asked by hash over GET.
    await post(api, user, {"query": PROJECTS, "extensions": apq(PROJECTS)})
    response = await api.client.get(
        "/graphql",
        params={"operationName": "Projects", "extensions": json.dumps(apq(PROJECTS))},
        headers={"Authorization": f"Bearer {user.token}", "Accept": "*/*"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["projects"]["edges"] == [{"node": {"name": "mine"}}]
    assert response.headers["cache-control"] == "private, no-store"
    assert "Authorization" in response.headers["vary"]
    assert "X-Profile-Id" in response.headers["vary"]

    async def project_count() -> int:
        async with sessions.system() as session:
            return int(await session.scalar(select(func.count()).select_from(Project)) or 0)

    before = await project_count()
    await post(api, user, {"query": CREATE, "extensions": apq(CREATE)})  # runs, by POST
    assert await project_count() == before + 1
    refused = await api.client.get(
        "/graphql",
        params={"extensions": json.dumps(apq(CREATE))},
        headers={"Authorization": f"Bearer {user.token}"},
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await project_count() == before + 1


async def test_the_store_is_bounded_in_number_and_size(
    settings: Settings, engine: AsyncEngine, sessions: SessionFactory
) -> None:
    limits = {"persisted_queries_max": 3, "persisted_query_max_bytes": 200}
    documents = [f"query Q{i} {{ currentProfile {{ name }} }}" for i in range(5)]
    long = "query Long { currentProfile { " + "name " * 60 + "} }"
    async with server(settings, engine, **limits) as first:
        user = await first.new_user()
        for document in [*documents, long]:
            response = await post(first, user, {"query": document, "extensions": apq(document)})
            assert "errors" not in response.json(), response.text
        # The oldest two went; the long one ran but was not stored.
        assert sorted(await stored(sessions)) == sorted(sha256(d) for d in documents[2:])
        assert len(long.encode()) > 200
    async with server(settings, engine, **limits) as second:
        assert code_of(await post(second, user, {"extensions": apq(long)})) == (
            "PERSISTED_QUERY_NOT_FOUND"
        )
        assert "errors" not in (await post(second, user, {"extensions": apq(documents[4])})).json()


def apollo_manifest(path: Path, documents: list[str]) -> Path:
    operations = [
        {"id": sha256(d), "name": f"Op{i}", "type": "query", "body": d}
        for i, d in enumerate(documents)
    ]
    manifest = {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
    path.write_text(json.dumps(manifest))
    return path


@pytest.mark.parametrize("fmt", ["apollo", "codegen"])
async def test_allow_list_mode_runs_only_the_manifests_operations(
    settings: Settings, engine: AsyncEngine, sessions: SessionFactory, tmp_path: Path, fmt: str
) -> None:
    allowed = [PROJECTS, "query Me { currentProfile { name } }"]
    path = tmp_path / "manifest.json"
    if fmt == "apollo":
        apollo_manifest(path, allowed)
    else:  # graphql-codegen's persisted-documents.json: hash -> document
        path.write_text(json.dumps({sha256(d): d for d in allowed}))
    async with server(settings, engine) as open_api:
        user = await open_api.new_user()  # its query is not in the list
    async with server(
        settings, engine, persisted_queries_only=True, persisted_queries_manifest=path
    ) as api:
        by_hash = await post(api, user, {"extensions": apq(PROJECTS)})
        assert by_hash.json() == {"data": {"projects": {"edges": []}}}
        by_text = await post(api, user, {"query": allowed[1]})
        assert "errors" not in by_text.json()
        for body in (
            {"query": "{ currentProfile { id } }"},
            {"query": "{ currentProfile { id } }", "extensions": apq("{ currentProfile { id } }")},
            {"extensions": apq("{ currentProfile { id } }")},
        ):
            refused = await post(api, user, body)
            assert refused.json()["data"] is None
            assert code_of(refused) == "PERSISTED_QUERY_NOT_IN_LIST"
        assert await stored(sessions) == []


async def test_a_manifest_whose_ids_are_not_its_documents_hashes_stops_the_start(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({sha256("{ a }"): "{ b }"}))
    with pytest.raises(ManifestError, match="not the sha256"):
        async with server(
            settings, engine, persisted_queries_only=True, persisted_queries_manifest=path
        ):
            pass


async def test_a_new_users_first_request_can_register_a_document(
    api: Api, sessions: SessionFactory
) -> None:
    # First sight of the token creates the user and its profile (a write) in the same
    # request that then stores the document (a write of its own): on SQLite neither
    # waits for the other.
    token = mint_token(api.settings, str(uuid.uuid4()), "first@example.test")
    body = {"query": PROJECTS, "extensions": apq(PROJECTS)}
    response = await api.client.post(
        "/graphql", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.json() == {"data": {"projects": {"edges": []}}}
    assert await stored(sessions) == [sha256(PROJECTS)]


@pytest.mark.parametrize(
    "document",
    [
        "{ noSuchField }",  # does not validate
        # over the cost budget
        "{ projects(first: 100) { edges { node { clips(first: 100) { edges { node { id } } } }"
        " } } }",
        "{ currentProfile { ",  # does not parse
    ],
)
async def test_a_document_that_cannot_run_is_never_stored(
    api: Api, sessions: SessionFactory, document: str
) -> None:
    user = await api.new_user()
    response = await post(api, user, {"query": document, "extensions": apq(document)})
    assert response.json()["data"] is None
    assert response.json()["errors"]
    assert await stored(sessions) == []
    assert code_of(await post(api, user, {"extensions": apq(document)})) == (
        "PERSISTED_QUERY_NOT_FOUND"
    )
