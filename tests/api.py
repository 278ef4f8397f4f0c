"""A tiny GraphQL client for tests, and factories for users with tokens."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from editai.auth.tokens import mint_token
from editai.settings import Settings


class GraphQLResult:
    def __init__(
        self, status_code: int, body: dict[str, Any], headers: httpx.Headers | None = None
    ) -> None:
        self.status_code = status_code
        self.headers = headers if headers is not None else httpx.Headers()
        self.body = body
        self.data: dict[str, Any] | None = body.get("data")
        self.errors: list[dict[str, Any]] = body.get("errors") or []

    @property
    def codes(self) -> list[str]:
        return [(e.get("extensions") or {}).get("code", "") for e in self.errors]

    @property
    def code(self) -> str:
        assert len(self.errors) == 1, f"expected exactly one error, got {self.body}"
        return self.codes[0]

    def ok(self) -> dict[str, Any]:
        assert not self.errors, f"unexpected errors: {self.errors}"
        assert self.data is not None
        return self.data

    def __repr__(self) -> str:
        return f"GraphQLResult({self.status_code}, {self.body})"


@dataclass
class Api:
    client: httpx.AsyncClient
    settings: Settings

    async def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        profile_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> GraphQLResult:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if profile_id is not None:
            sent["X-Profile-Id"] = profile_id
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
        )
        return GraphQLResult(response.status_code, response.json(), response.headers)

    async def gql_upload(
        self,
        query: str,
        variables: dict[str, Any],
        files: dict[str, tuple[str, bytes]],
        *,
        token: str | None = None,
        profile_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> GraphQLResult:
        """A GraphQL multipart request (spec): ``files`` maps a variable path to a file.

        A path is a variable name (set to null in ``operations`` here) or a dotted path
        into one (``input.files.0``, null there set by the caller). Sends
        ``Apollo-Require-Preflight`` (CSRF prevention) unless ``headers`` say otherwise.
        """
        sent = {"Apollo-Require-Preflight": "true", **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if profile_id is not None:
            sent["X-Profile-Id"] = profile_id
        names = list(files)
        top_level = [n for n in names if "." not in n]
        operations = {"query": query, "variables": {**variables, **dict.fromkeys(top_level)}}
        response = await self.client.post(
            "/graphql",
            data={
                "operations": json.dumps(operations),
                "map": json.dumps({str(i): [f"variables.{n}"] for i, n in enumerate(names)}),
            },
            files={str(i): files[n] for i, n in enumerate(names)},
            headers=sent,
        )
        return GraphQLResult(response.status_code, response.json(), response.headers)

    async def new_user(self, email: str | None = None) -> TestUser:
        user_id = str(uuid.uuid4())
        token = mint_token(self.settings, user_id, email or f"{user_id[:8]}@example.test")
        user = TestUser(api=self, id=user_id, token=token)
        data = (await user.gql("{ currentProfile { id } }")).ok()
        user.default_profile_id = data["currentProfile"]["id"]
        return user


@dataclass
class TestUser:
    api: Api
    id: str
    token: str
    default_profile_id: str = ""
    profile_ids: list[str] = field(default_factory=list)

    async def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        profile_id: str | None = None,
    ) -> GraphQLResult:
        return await self.api.gql(query, variables, token=self.token, profile_id=profile_id)

    async def upload(
        self,
        query: str,
        variables: dict[str, Any],
        files: dict[str, tuple[str, bytes]],
        *,
        profile_id: str | None = None,
    ) -> GraphQLResult:
        return await self.api.gql_upload(
            query, variables, files, token=self.token, profile_id=profile_id
        )

    async def create_profile(self, name: str, **fields: Any) -> str:
        result = await self.gql(
            "mutation($input: CreateProfileInput!) { createProfile(input: $input) { id } }",
            {"input": {"name": name, **fields}},
        )
        profile_id: str = result.ok()["createProfile"]["id"]
        self.profile_ids.append(profile_id)
        return profile_id

    async def create_project(self, name: str, profile_id: str | None = None) -> str:
        result = await self.gql(
            "mutation($input: CreateProjectInput!) { createProject(input: $input) { id } }",
            {"input": {"name": name}},
            profile_id=profile_id,
        )
        project_id: str = result.ok()["createProject"]["id"]
        return project_id
