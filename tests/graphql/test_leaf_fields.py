"""The short road for plain scalar fields (graphql/leaf_fields.py) answers byte for byte
what graphql-core's general road answers, on both databases.

A row in every tenant table (the isolation sweep's seeding), then one document selecting
every field reachable from the profile's root fields that needs no argument (built from
the schema, so a new field is covered without editing this test), asked with the short
road and without it. Errors too: a non-null field whose value is missing, and a value
its scalar cannot serialize, come out with the same message, path and code.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    get_named_type,
    is_leaf_type,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.db.tenancy import SessionFactory
from editai.graphql.leaf_fields import LeafFieldExecutionContext, leaf_plan
from editai.graphql.schema import build_schema
from editai.media import downloads
from editai.settings import Settings
from tests.api import Api
from tests.conftest import make_settings
from tests.graphql.test_isolation_sweep import seed_profile

# Root fields that read the profile's own data (no provider calls). Not ``jobs``: the
# sweep's seeded job row has a kind no JobKind has (the Job type's fields are covered
# by tests/jobs, whose answers the suite checks on this road).
ROOTS = ["me", "profiles", "currentProfile", "projects", "costSummary"]
DEPTH = 5


def selection(type_: GraphQLObjectType, depth: int) -> str:
    parts = []
    for name, field in type_.fields.items():
        if any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values()):
            continue
        named = get_named_type(field.type)
        if is_leaf_type(named):
            parts.append(name)
        elif isinstance(named, GraphQLObjectType) and depth > 0:
            inner = selection(named, depth - 1)
            if inner:
                parts.append(f"{name} {{ {inner} }}")
    return " ".join(parts)


def every_field_document(schema: GraphQLSchema) -> str:
    query = schema.query_type
    assert query is not None
    roots = []
    for root in ROOTS:
        named = get_named_type(query.fields[root].type)
        assert isinstance(named, GraphQLObjectType)
        roots.append(f"{root} {{ {selection(named, DEPTH)} }}")
    return "{ " + " ".join(roots) + " }"


@pytest.fixture
def settings(engine: AsyncEngine, run_dir: Path) -> Settings:
    # The document below selects every field, lists within lists: far above the default
    # query cost budget, which is not what these tests are about.
    url = engine.url.render_as_string(hide_password=False)
    return make_settings(run_dir, url, max_query_cost=10_000_000)


async def test_the_short_road_answers_byte_for_byte_as_the_general_one(
    api: Api, sessions: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await api.new_user()
    await seed_profile(sessions, user, user.default_profile_id)  # type: ignore[arg-type]
    document = every_field_document(build_schema()._schema)
    assert document.count("{") > 15, document  # it reaches deep: a real check
    # Both answers sign their download URLs from the same instant (a second ticking
    # between the two requests changed every URL's expiry and signature).
    signed_at = time.time()
    monkeypatch.setattr(downloads, "time", SimpleNamespace(time=lambda: signed_at))

    async def ask() -> bytes:
        response = await api.client.post(
            "/graphql",
            json={"query": document},
            headers={"Authorization": f"Bearer {user.token}"},
        )
        assert response.status_code == 200, response.text
        return response.content

    fast = await ask()
    monkeypatch.setattr(LeafFieldExecutionContext, "fast_leaves", False)
    general = await ask()
    assert fast == general
    assert b'"errors"' not in fast, fast[:500]


class Row:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


def test_an_unusual_value_takes_the_general_road_and_fails_the_same_way() -> None:
    from graphql import GraphQLField, graphql_sync

    item = GraphQLObjectType(
        "Item",
        {
            "name": GraphQLField(GraphQLNonNull(GraphQLString)),
            "note": GraphQLField(GraphQLString),
        },
    )
    # Not strawberry fields: they never get a plan (the short road is for those only).
    assert leaf_plan(item.fields["name"]) is None
    schema = GraphQLSchema(
        GraphQLObjectType(
            "Query",
            {
                "items": GraphQLField(
                    GraphQLList(item),
                    resolve=lambda *_: [Row(name="a", note=None), Row(name=None, note="n")],
                )
            },
        )
    )
    answer = graphql_sync(schema, "{ items { name note } }")
    assert answer.data == {"items": [{"name": "a", "note": None}, None]}
    assert answer.errors is not None
    assert "Cannot return null for non-nullable field Item.name." in answer.errors[0].message


async def test_a_missing_non_null_value_errors_alike_on_both_roads(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A profile whose non-null ``name`` reads as None (a broken row): the short road
    # declines, the general road raises, located at the field, masked as always.
    from editai.profiles import types as profile_types

    user = await api.new_user()
    original = profile_types.Profile.from_model

    def broken(model: Any) -> Any:
        profile = original(model)
        profile.name = None
        return profile

    monkeypatch.setattr(profile_types.Profile, "from_model", staticmethod(broken))
    answers = []
    for fast in (True, False):
        monkeypatch.setattr(LeafFieldExecutionContext, "fast_leaves", fast)
        answer = await user.gql("{ profiles { id name } }")
        answers.append(answer.body)
    assert answers[0] == answers[1]
    assert answers[0]["errors"][0]["path"] == ["profiles", 0, "name"]
    assert answers[0]["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert answers[0]["data"] is None  # the non-null list of non-null profiles is gone


@pytest.mark.parametrize(
    "query",
    [
        "{ projects { edges { node { id name } } pageInfo { hasNextPage } } }",
        # An error inside an awaited field of a list item, bubbling through non-nulls.
        '{ projects { edges { node { id clips(after: "garbage") { edges { node { id } } } } } } }',
        "{ projects { edges { node { segments { id } name clips { edges { node { id } } } } } } }",
    ],
)
async def test_errors_inside_lists_of_objects_are_alike_on_both_roads(
    api: Api, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    """Objects and lists of objects held by plain attributes (edges, node, pageInfo) take
    the short road too: a broken item's error is located and bubbles exactly as on the
    general one."""
    from editai.projects import types as project_types

    user = await api.new_user()
    for i in range(3):
        await user.create_project(f"p{i}")
    original = project_types.Project.from_model
    calls = {"n": 0}

    def broken_second(model: Any) -> Any:
        project = original(model)
        calls["n"] += 1
        if calls["n"] % 3 == 2:
            project.name = None  # the second project of each page: a non-null gone
        return project

    monkeypatch.setattr(project_types.Project, "from_model", staticmethod(broken_second))
    answers = []
    for fast in (True, False):
        calls["n"] = 0
        monkeypatch.setattr(LeafFieldExecutionContext, "fast_leaves", fast)
        answers.append((await user.gql(query)).body)
    assert answers[0] == answers[1]
    assert answers[0]["errors"], answers[0]


def test_enum_names_are_what_each_enum_serializes_to() -> None:
    from strawberry.schema.schema_converter import CustomGraphQLEnumType

    from editai.graphql.leaf_fields import _enum_names

    enums = [
        t for t in build_schema()._schema.type_map.values() if isinstance(t, CustomGraphQLEnumType)
    ]
    assert len(enums) >= 5
    for enum in enums:
        names = _enum_names(enum)
        assert names is not None
        assert set(names) == set(enum.wrapped_cls)
        for member, name in names.items():
            assert name == enum.serialize(member), (enum.name, member)
