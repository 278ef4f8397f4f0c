"""Error contract (DESIGN §6), document limits, introspection/GraphiQL toggles, transactions."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql.language import Lexer, Source, TokenKind
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.app import create_app
from editai.db.tenancy import SessionFactory
from editai.errors import BadUserInput
from editai.profiles.models import Profile
from editai.profiles.service import ProfileChanges, ProfileService
from editai.projects.models import Project
from editai.projects.repository import ProjectRepository
from editai.projects.service import ProjectChanges, ProjectService
from editai.settings import Environment, Settings
from tests.api import Api, GraphQLResult
from tests.conftest import make_settings

CODES = {
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "CONFLICT",
    "INTERNAL_SERVER_ERROR",
}
INTROSPECTION = "{ __schema { types { name } } }"
PROJECT_NAMES = "{ projects { edges { node { name } } } }"


def assert_coded(result: GraphQLResult, expected: str) -> None:
    """Every error carries a code from the fixed set; here exactly the expected one."""
    assert result.errors, result
    for error in result.errors:
        assert error.get("message"), error
        assert (error.get("extensions") or {}).get("code") in CODES, error
    assert set(result.codes) == {expected}, result


@asynccontextmanager
async def custom_api(engine: AsyncEngine, tmp: Path, **overrides: Any) -> AsyncIterator[Api]:
    """An app on ``engine`` built from test settings with ``overrides``."""
    url = engine.url.render_as_string(hide_password=False)
    settings = make_settings(tmp, url, **overrides)
    app = create_app(settings, engine=engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Api(client, settings)


async def _project_names(sessions: SessionFactory, profile_id: str) -> list[str]:
    async with sessions.system() as session:
        rows = await session.scalars(
            select(Project.name)
            .where(Project.profile_id == uuid.UUID(profile_id))
            .order_by(Project.name)
        )
        return list(rows.all())


# --- every error is coded ----------------------------------------------------------------


async def test_every_kind_of_error_has_a_code_from_the_fixed_set(api: Api) -> None:
    alice = await api.new_user()
    bob = await api.new_user()
    cases: list[tuple[GraphQLResult, str]] = [
        (await api.gql("{ me { id } }"), "UNAUTHENTICATED"),
        (await api.gql("{ projects { edges { cursor } } }", token="garbage"), "UNAUTHENTICATED"),
        (
            await alice.gql("{ currentProfile { id } }", profile_id=bob.default_profile_id),
            "FORBIDDEN",
        ),
        (await alice.gql("{ currentProfile { id } }", profile_id="not-a-uuid"), "NOT_FOUND"),
        (
            await alice.gql(
                "query($id: ID!) { project(id: $id) { id } }", {"id": str(uuid.uuid4())}
            ),
            "NOT_FOUND",
        ),
        (
            await alice.gql('mutation { createProfile(input: {name: ""}) { id } }'),
            "BAD_USER_INPUT",
        ),
        (
            await alice.gql('mutation { createProfile(input: {name: "default"}) { id } }'),
            "CONFLICT",
        ),
        # Document errors: parse, validation, variable coercion.
        (await alice.gql("{ health { "), "BAD_USER_INPUT"),
        (await alice.gql("{ noSuchField }"), "BAD_USER_INPUT"),
        (await alice.gql("{ health { status noSuchField } }"), "BAD_USER_INPUT"),
        (await alice.gql("{ projects(nope: 1) { edges { cursor } } }"), "BAD_USER_INPUT"),
        (await alice.gql("{ projects(status: DELETED) { edges { cursor } } }"), "BAD_USER_INPUT"),
        (await alice.gql('{ projects(first: "ten") { edges { cursor } } }'), "BAD_USER_INPUT"),
        (
            await alice.gql(
                "mutation($input: CreateProfileInput!) { createProfile(input: $input) { id } }"
            ),
            "BAD_USER_INPUT",
        ),
        (
            await alice.gql(
                "mutation($input: CreateProfileInput!) { createProfile(input: $input) { id } }",
                {"input": {"name": 5, "extra": True}},
            ),
            "BAD_USER_INPUT",
        ),
        (await alice.gql("mutation { health { status } }"), "BAD_USER_INPUT"),
    ]
    for result, expected in cases:
        assert result.status_code in (200, 400), result
        assert_coded(result, expected)


@pytest.mark.parametrize(
    "query",
    [
        "{ health { status }",  # unbalanced
        "query { }",
        "{ health { status } } trailing",
        "mutatio { createProject }",
        "{ health(status: ) { status } }",
    ],
)
async def test_syntax_error_is_bad_user_input(api: Api, query: str) -> None:
    result = await api.gql(query)
    assert_coded(result, "BAD_USER_INPUT")
    assert result.data is None
    assert "Syntax Error" in result.errors[0]["message"]


@pytest.mark.parametrize(
    "query",
    [
        "subscription { jobUpdated { id } }",
        "query Q { health { status } } subscription S { jobUpdated { id } }",
    ],
)
async def test_a_subscription_over_http_is_refused_with_a_code(api: Api, query: str) -> None:
    user = await api.new_user()
    name = "S" if "subscription S" in query else None
    response = await api.client.post(
        "/graphql",
        json={"query": query, "operationName": name},
        headers={"Authorization": f"Bearer {user.token}"},
    )
    # Subscriptions stream over the WebSocket; by HTTP strawberry executed them as queries
    # and the root field could not answer (a masked INTERNAL_SERVER_ERROR).
    assert response.status_code == 400, response.text
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert "subscriptions are not allowed" in body["errors"][0]["message"]
    # The query beside it in the same document still runs by POST.
    other = await api.client.post(
        "/graphql",
        json={"query": query, "operationName": "Q"} if name else {"query": "{ __typename }"},
        headers={"Authorization": f"Bearer {user.token}"},
    )
    assert other.status_code == 200, other.text
    assert "errors" not in other.json()


async def test_unknown_field_is_bad_user_input_and_nothing_runs(
    api: Api, sessions: SessionFactory
) -> None:
    user = await api.new_user()
    result = await user.gql(
        'mutation { createProject(input: {name: "Never"}) { id doesNotExist } }'
    )
    assert_coded(result, "BAD_USER_INPUT")
    assert result.data is None
    assert "doesNotExist" in result.errors[0]["message"]
    assert await _project_names(sessions, user.default_profile_id) == []


# --- masking -----------------------------------------------------------------------------


def _assert_masked(result: GraphQLResult, path: list[str]) -> None:
    assert result.errors == [
        {
            "message": "Internal server error",
            "locations": result.errors[0]["locations"],
            "path": path,
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ], result
    raw = json.dumps(result.body).lower()
    for leaked in ("secret", "traceback", "runtimeerror", "select", "sqlalchemy", ".py"):
        assert leaked not in raw, (leaked, result.body)


async def test_unexpected_exception_is_masked(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    user = await api.new_user()

    async def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret SQL detail: SELECT * FROM secret_table")

    monkeypatch.setattr(ProjectService, "list", boom)
    result = await user.gql(PROJECT_NAMES)
    _assert_masked(result, ["projects"])
    assert result.data is None
    # The details are kept for the operator: in the server log.
    assert "secret SQL detail" in capsys.readouterr().out

    # Other fields of the same document are unaffected.
    partial = await user.gql("{ health { status } currentProfile { id } }")
    assert partial.ok()["currentProfile"]["id"] == user.default_profile_id


async def test_database_error_is_masked(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    user = await api.new_user()

    async def bad_sql(self: ProjectRepository, *_args: object, **_kwargs: object) -> None:
        await self.session.execute(text("SELECT secret_column FROM secret_table"))

    monkeypatch.setattr(ProjectRepository, "list_for_profile", bad_sql)
    result = await user.gql(PROJECT_NAMES)
    _assert_masked(result, ["projects"])

    # The request's session was cleaned up: the next request works normally.
    monkeypatch.undo()
    assert (await user.gql(PROJECT_NAMES)).ok()["projects"]["edges"] == []


async def test_unexpected_exception_in_mutation_is_masked_and_rolled_back(
    api: Api, monkeypatch: pytest.MonkeyPatch, sessions: SessionFactory
) -> None:
    user = await api.new_user()
    original = ProjectService.create

    async def create_then_crash(self: ProjectService, changes: ProjectChanges) -> Project:
        await original(self, changes)  # flushed: the row exists in the transaction
        raise RuntimeError("secret failure after the insert")

    monkeypatch.setattr(ProjectService, "create", create_then_crash)
    result = await user.gql('mutation { createProject(input: {name: "Ghost"}) { id } }')
    _assert_masked(result, ["createProject"])
    assert await _project_names(sessions, user.default_profile_id) == []


# --- abusive documents -------------------------------------------------------------------

# Project.clips -> Clip.project -> Project.clips ... makes arbitrarily deep valid queries.
_CYCLE = ["clips", "edges", "node", "project"]


def _deep_query(depth: int) -> str:
    """A valid query whose deepest leaf is ``depth`` fields below the root."""
    path = ["projects", "edges", "node"]
    while len(path) < depth - 1:
        path.append(_CYCLE[(len(path) - 3) % len(_CYCLE)])
    path = path[: depth - 1]
    # End on an object type so that `id` (or `cursor` under edges) is a valid leaf.
    leaf = "cursor" if path[-1] == "edges" else "id"
    if path[-1] == "clips" or path[-1] == "projects":
        leaf = "pageInfo { hasNextPage }"
    # One item per page: the depth is what is tested here, not the breadth (query cost).
    opened = " { ".join(f"{p}(first: 1)" if p in ("projects", "clips") else p for p in path)
    return "{ " + opened + " { " + leaf + " }" * len(path) + " }"


async def test_query_deeper_than_limit_is_rejected(api: Api, settings: Settings) -> None:
    user = await api.new_user()
    limit = settings.max_query_depth
    assert (await user.gql(_deep_query(limit))).ok()["projects"]["edges"] == []
    too_deep = await user.gql(_deep_query(limit + 1))
    assert_coded(too_deep, "BAD_USER_INPUT")
    assert too_deep.data is None
    assert "depth" in too_deep.errors[0]["message"]
    assert_coded(await user.gql(_deep_query(limit * 4)), "BAD_USER_INPUT")


async def test_query_depth_limit_follows_settings(engine: AsyncEngine, run_dir: Path) -> None:
    async with custom_api(engine, run_dir, max_query_depth=4) as api:
        user = await api.new_user()
        assert "projects" in (await user.gql(_deep_query(4))).ok()
        result = await user.gql(_deep_query(5))
        assert_coded(result, "BAD_USER_INPUT")
        assert result.data is None


def _aliases(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


async def test_too_many_aliases_is_rejected(api: Api, settings: Settings) -> None:
    limit = settings.max_aliases
    ok = (await api.gql(_aliases(limit))).ok()
    assert len(ok) == limit
    result = await api.gql(_aliases(limit + 1))
    assert_coded(result, "BAD_USER_INPUT")
    assert result.data is None
    assert "aliases" in result.errors[0]["message"]
    # Aliases of a field that does real work are counted the same way.
    heavy = "{ " + " ".join(f"h{i}: health {{ status }}" for i in range(limit + 1)) + " }"
    assert_coded(await api.gql(heavy), "BAD_USER_INPUT")


def _document(tokens: int) -> str:
    """A valid document of exactly ``tokens`` lexical tokens: many small operations.

    (Many sibling fields would trip graphql-core's own overlap budget first.)
    """
    operations, extra = divmod(tokens, 8)  # `query Qn { health { status } }` is 8 tokens
    assert operations > extra
    docs = [
        f"query Q{i} {{ health {{ status{' version' * (1 if i < extra else 0)} }} }}"
        for i in range(operations)
    ]
    document = " ".join(docs)
    assert _count_tokens(document) == tokens
    return document


def _count_tokens(document: str) -> int:
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


async def _run(api: Api, document: str, operation: str) -> GraphQLResult:
    response = await api.client.post(
        "/graphql", json={"query": document, "operationName": operation}
    )
    return GraphQLResult(response.status_code, response.json())


async def test_too_many_tokens_is_rejected(api: Api, settings: Settings) -> None:
    limit = settings.max_tokens
    at_limit = await _run(api, _document(limit), "Q0")
    assert at_limit.ok()["health"]["status"] == "ok"
    for size in (limit + 1, limit * 5):
        result = await _run(api, _document(size), "Q0")
        assert_coded(result, "BAD_USER_INPUT")
        assert result.data is None
        assert "tokens" in result.errors[0]["message"]


# --- introspection and GraphiQL ----------------------------------------------------------


async def _introspection_allowed(api: Api) -> bool:
    result = await api.gql(INTROSPECTION)
    if result.errors:
        assert_coded(result, "BAD_USER_INPUT")
        assert result.data is None
        # Also the narrower entry points.
        for query in (
            '{ __type(name: "Profile") { name } }',
            "{ health { __typename } __schema { queryType { name } } }",
        ):
            assert_coded(await api.gql(query), "BAD_USER_INPUT")
        return False
    names = {t["name"] for t in result.ok()["__schema"]["types"]}
    assert {"Query", "Mutation", "Profile", "Project"} <= names
    return True


async def _graphiql_served(api: Api) -> bool:
    response = await api.client.get("/graphql", headers={"Accept": "text/html"})
    served = response.status_code == 200 and "graphiql" in response.text.lower()
    if not served:
        assert "graphiql" not in response.text.lower()
    return served


async def test_introspection_and_graphiql_on_in_test_env(api: Api) -> None:
    assert api.settings.env is Environment.test
    assert await _introspection_allowed(api)
    assert await _graphiql_served(api)
    # __typename is not introspection and always works.
    assert (await api.gql("{ __typename }")).ok() == {"__typename": "Query"}


async def test_introspection_and_graphiql_on_in_development(
    engine: AsyncEngine, run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EDITAI_INTROSPECTION_ENABLED", raising=False)
    monkeypatch.delenv("EDITAI_GRAPHIQL_ENABLED", raising=False)
    async with custom_api(engine, run_dir, env=Environment.development) as api:
        assert await _introspection_allowed(api)
        assert await _graphiql_served(api)


async def test_toggles_turn_introspection_and_graphiql_off(
    engine: AsyncEngine, run_dir: Path
) -> None:
    async with custom_api(
        engine, run_dir, introspection_enabled=False, graphiql_enabled=False
    ) as api:
        assert not await _introspection_allowed(api)
        assert not await _graphiql_served(api)
        # Ordinary queries are unaffected.
        assert (await api.gql("{ health { status } }")).ok()["health"]["status"] == "ok"


def test_production_defaults_to_no_introspection_and_no_graphiql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EDITAI_INTROSPECTION_ENABLED", raising=False)
    monkeypatch.delenv("EDITAI_GRAPHIQL_ENABLED", raising=False)
    production = make_settings(tmp_path, "postgresql+asyncpg://x@h/db", env=Environment.production)
    assert (production.introspection, production.graphiql) == (False, False)
    for env in (Environment.development, Environment.test):
        other = make_settings(tmp_path, "sqlite+aiosqlite:///x.db", env=env)
        assert (other.introspection, other.graphiql) == (True, True)

    monkeypatch.setenv("EDITAI_INTROSPECTION_ENABLED", "true")
    monkeypatch.setenv("EDITAI_GRAPHIQL_ENABLED", "true")
    enabled = make_settings(tmp_path, "postgresql+asyncpg://x@h/db", env=Environment.production)
    assert (enabled.introspection, enabled.graphiql) == (True, True)

    monkeypatch.setenv("EDITAI_INTROSPECTION_ENABLED", "false")
    monkeypatch.setenv("EDITAI_GRAPHIQL_ENABLED", "false")
    disabled = make_settings(tmp_path, "sqlite+aiosqlite:///x.db", env=Environment.development)
    assert (disabled.introspection, disabled.graphiql) == (False, False)


async def test_production_app_rejects_introspection_and_hides_graphiql(
    pg_engine: AsyncEngine, run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EDITAI_INTROSPECTION_ENABLED", raising=False)
    monkeypatch.delenv("EDITAI_GRAPHIQL_ENABLED", raising=False)
    async with custom_api(pg_engine, run_dir, env=Environment.production) as api:
        assert api.settings.is_production
        assert not await _introspection_allowed(api)
        assert not await _graphiql_served(api)
        page = await api.client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 404
        # The API itself works.
        user = await api.new_user()
        assert (await user.gql(PROJECT_NAMES)).ok()["projects"]["edges"] == []


async def test_production_app_introspection_can_be_enabled_by_env(
    pg_engine: AsyncEngine, run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITAI_INTROSPECTION_ENABLED", "true")
    monkeypatch.delenv("EDITAI_GRAPHIQL_ENABLED", raising=False)
    async with custom_api(pg_engine, run_dir, env=Environment.production) as api:
        assert await _introspection_allowed(api)
        assert not await _graphiql_served(api)  # the other toggle stays at its default

    monkeypatch.setenv("EDITAI_GRAPHIQL_ENABLED", "true")
    async with custom_api(pg_engine, run_dir, env=Environment.production) as api:
        assert await _graphiql_served(api)


# --- transactions ------------------------------------------------------------------------


async def test_failed_mutation_leaves_no_partial_write(api: Api, sessions: SessionFactory) -> None:
    user = await api.new_user()
    await user.create_profile("Brand")

    async def count() -> int:
        async with sessions.system() as session:
            n = await session.scalar(
                select(func.count())
                .select_from(Profile)
                .where(Profile.user_id == uuid.UUID(user.id))
            )
            return int(n or 0)

    assert await count() == 2
    conflict = await user.gql(
        'mutation { createProfile(input: {name: " BRAND ", description: "dup"}) { id } }'
    )
    assert_coded(conflict, "CONFLICT")
    invalid = await user.gql(
        'mutation { createProfile(input: {name: "Fresh", postizApiUrl: "nope"}) { id } }'
    )
    assert_coded(invalid, "BAD_USER_INPUT")
    assert await count() == 2


async def test_error_after_a_flushed_write_rolls_that_field_back(
    api: Api, sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await api.new_user()
    original = ProjectService.create

    async def create_then_refuse(self: ProjectService, changes: ProjectChanges) -> Project:
        project = await original(self, changes)
        if changes.name == "Refused":
            raise BadUserInput("refused after the insert")
        return project

    monkeypatch.setattr(ProjectService, "create", create_then_refuse)
    result = await user.gql('mutation { createProject(input: {name: "Refused"}) { id } }')
    assert_coded(result, "BAD_USER_INPUT")
    assert await _project_names(sessions, user.default_profile_id) == []


async def test_rollback_also_undoes_a_write_behind_a_savepoint(
    api: Api, sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Profile writes flush inside a SAVEPOINT (name race); releasing it must not commit."""
    user = await api.new_user()
    original = ProfileService.create

    async def create_then_refuse(self: ProfileService, changes: ProfileChanges) -> Profile:
        await original(self, changes)
        raise BadUserInput("refused after the insert")

    monkeypatch.setattr(ProfileService, "create", create_then_refuse)
    result = await user.gql('mutation { createProfile(input: {name: "Phantom"}) { id } }')
    assert_coded(result, "BAD_USER_INPUT")
    async with sessions.system() as session:
        names = await session.scalars(
            select(Profile.name).where(Profile.user_id == uuid.UUID(user.id))
        )
        assert list(names.all()) == ["Default"]


async def test_each_mutation_field_is_its_own_transaction(
    api: Api, sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first field commits even though the second fails (and is rolled back).

    The mutations return non-null types (DESIGN §6), so by the GraphQL spec the second
    field's error nulls the whole ``data``; the error's ``path`` names the failed field,
    and mutation fields run in order, so the fields before it are the ones that ran.
    """
    user = await api.new_user()
    original = ProjectService.create

    async def create_then_refuse(self: ProjectService, changes: ProjectChanges) -> Project:
        project = await original(self, changes)
        if changes.name == "Second":
            raise BadUserInput("refused after the insert")
        return project

    monkeypatch.setattr(ProjectService, "create", create_then_refuse)
    result = await user.gql(
        """mutation {
          a: createProject(input: {name: "First"}) { id }
          b: createProject(input: {name: "Second"}) { id }
        }"""
    )
    assert_coded(result, "BAD_USER_INPUT")
    assert [e["path"] for e in result.errors] == [["b"]]
    assert await _project_names(sessions, user.default_profile_id) == ["First"]
    listed = (await user.gql(PROJECT_NAMES)).ok()["projects"]["edges"]
    assert [e["node"]["name"] for e in listed] == ["First"]

    # Same with a rule violation raised by the real service in a different domain.
    result = await user.gql(
        """mutation {
          a: createProject(input: {name: "Third"}) { id }
          b: createProfile(input: {name: "Default"}) { id }
        }"""
    )
    assert_coded(result, "CONFLICT")
    assert [e["path"] for e in result.errors] == [["b"]]
    assert await _project_names(sessions, user.default_profile_id) == ["First", "Third"]


async def test_successful_mutation_fields_all_report_their_results(
    api: Api, sessions: SessionFactory
) -> None:
    user = await api.new_user()
    data = (
        await user.gql(
            """mutation {
              a: createProject(input: {name: "One"}) { id name }
              b: createProject(input: {name: "Two"}) { id name }
            }"""
        )
    ).ok()
    assert (data["a"]["name"], data["b"]["name"]) == ("One", "Two")
    assert await _project_names(sessions, user.default_profile_id) == ["One", "Two"]
