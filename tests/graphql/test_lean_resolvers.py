"""Resolvers called directly (graphql/lean_resolvers.py) answer byte for byte what they
answer through strawberry's wrapper, errors included, on both databases; and only the
fields whose call strawberry would not change get the direct call."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry
from graphql import GraphQLField, GraphQLInterfaceType, GraphQLObjectType
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.routing import Route

from editai.db.tenancy import SessionFactory
from editai.graphql.lean_resolvers import lean_resolver, use_lean_resolvers
from editai.graphql.schema import build_schema
from editai.media import downloads
from editai.settings import Settings
from tests.api import Api
from tests.conftest import make_settings
from tests.graphql.test_isolation_sweep import seed_profile
from tests.graphql.test_leaf_fields import every_field_document

DIRECT = {
    "Clip.downloadUrl",
    "Clip.durationSeconds",
    "Clip.exportStale",
    "Clip.transcript",
    "PageInfo.endCursor",
    "PageInfo.startCursor",
    "Profile.storageQuotaBytes",
    "Profile.storageUsedBytes",
    "Project.clips",
    "Project.segments",
    "Project.sourceVideo",
    "Project.transcript",
    "Project.voiceovers",
    "Transcript.text",
    "Voiceover.downloadUrl",
}

ARGUMENT_DOCUMENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "literal first": (
        "{ projects { edges { node { clips(first: 2) { edges { cursor node { id } } "
        "pageInfo { hasNextPage startCursor endCursor } } } } } }",
        {},
    ),
    "variables, aliases": (
        """query($n: Int, $after: String) { projects { edges { node {
            a: clips(first: $n, after: $after) { edges { node { id durationSeconds } } }
            b: clips { edges { node { id } } } } } } }""",
        {"n": 1, "after": None},
    ),
    "a refused cursor": (
        '{ projects { edges { node { id clips(after: "garbage") { edges { node { id } } } } } } }',
        {},
    ),
    "a page too large": (
        "{ projects { edges { node { id clips(first: 100000) { edges { node { id } } } } } } }",
        {},
    ),
}


def _output_fields(schema: strawberry.Schema) -> Iterator[tuple[str, GraphQLField]]:
    for type_name, graphql_type in schema._schema.type_map.items():
        if isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in graphql_type.fields.items():
                yield f"{type_name}.{field_name}", field


def _directly_called(schema: strawberry.Schema) -> set[str]:
    return {
        name
        for name, field in _output_fields(schema)
        if hasattr(field.resolve, "strawberry_resolver")
    }


def test_only_plain_resolvers_are_called_directly() -> None:
    schema = build_schema()
    assert _directly_called(schema) == DIRECT
    fields = schema._schema.type_map
    # Kept on strawberry's wrapper: coroutines (Clip.project), root fields with inputs and
    # enums (mutations, Query.projects' status), resolvers without self (Query fields).
    for type_name, field_name in [
        ("Clip", "project"),
        ("Query", "projects"),
        ("Mutation", "createProject"),
        ("Mutation", "generateRawClips"),
    ]:
        field = fields[type_name].fields[field_name]  # type: ignore[attr-defined]
        assert not hasattr(field.resolve, "strawberry_resolver"), (type_name, field_name)
    assert use_lean_resolvers(schema) == 0  # already lean: nothing left to change


def test_a_schema_with_exception_handlers_keeps_strawberrys_wrapper() -> None:
    schema = build_schema()
    for _, field in _output_fields(schema):
        field.resolve = getattr(field.resolve, "strawberry_resolver", field.resolve)
    assert _directly_called(schema) == set()
    # strawberry applies its exception handlers in its wrapper: a direct call would not.
    schema.schema_converter._exception_handler_specs = ((Exception,), None, None)  # type: ignore[attr-defined]
    assert use_lean_resolvers(schema) == 0
    assert _directly_called(schema) == set()
    schema.schema_converter._exception_handler_specs = ()  # type: ignore[attr-defined]
    assert use_lean_resolvers(schema) == len(DIRECT)


def test_resolvers_with_converted_arguments_are_not_eligible() -> None:
    from editai.projects.queries import ProjectQuery

    definition = next(
        f
        for f in ProjectQuery.__strawberry_definition__.fields  # type: ignore[attr-defined]
        if f.python_name == "projects"
    )
    assert lean_resolver(definition, strawberry.Info) is None  # async, and an enum argument


@contextmanager
def strawberrys_resolvers(app: Starlette) -> Iterator[int]:
    """The app's schema with strawberry's own resolvers back, for the block."""
    route = next(r for r in app.routes if isinstance(r, Route) and r.path == "/graphql")
    schema: strawberry.Schema = route.app.schema  # type: ignore[attr-defined]
    swapped = []
    for _, field in _output_fields(schema):
        original = getattr(field.resolve, "strawberry_resolver", None)
        if original is not None:
            swapped.append((field, field.resolve))
            field.resolve = original
    try:
        yield len(swapped)
    finally:
        for field, direct in swapped:
            field.resolve = direct


@pytest.fixture
def settings(engine: AsyncEngine, run_dir: Path) -> Settings:
    # The every-field document is far above the default query cost budget.
    url = engine.url.render_as_string(hide_password=False)
    return make_settings(run_dir, url, max_query_cost=10_000_000)


@pytest.mark.parametrize("name", ["every field", *ARGUMENT_DOCUMENTS])
async def test_the_same_bytes_as_through_strawberrys_wrapper(
    api: Api,
    app: Starlette,
    sessions: SessionFactory,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    user = await api.new_user()
    await seed_profile(sessions, user, user.default_profile_id)  # type: ignore[arg-type]
    for i in range(3):
        await user.create_project(f"extra {i}")
    if name == "every field":
        query, variables = every_field_document(build_schema()._schema), {}
    else:
        query, variables = ARGUMENT_DOCUMENTS[name]
    # Both answers sign their download URLs from the same instant.
    signed_at = time.time()
    monkeypatch.setattr(downloads, "time", SimpleNamespace(time=lambda: signed_at))

    async def ask() -> bytes:
        response = await api.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {user.token}"},
        )
        assert response.status_code == 200, response.text
        return response.content

    direct = await ask()
    with strawberrys_resolvers(app) as swapped:
        assert swapped == len(DIRECT)
        wrapped = await ask()
    assert direct == wrapped, name
    if name.startswith("a "):
        assert b'"BAD_USER_INPUT"' in direct, direct[:300]
    else:
        assert b'"errors"' not in direct, direct[:500]
        # A page of clips was really answered (through the direct calls).
        assert re.search(rb'"(clips|a)":\{"edges":\[\{', direct), direct[:500]
