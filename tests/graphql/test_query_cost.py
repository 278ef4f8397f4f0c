"""The breadth limit (graphql/query_cost.py): what a document can return is counted
before it runs, refused above the budget with the figures, and reported when asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import parse
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.graphql.query_cost import CostModel, operation_cost
from editai.graphql.schema import build_schema
from editai.settings import Settings
from tests.api import Api
from tests.graphql.lifecycle import quiet_app_api

WIDE = "{ projects(first: 100) { edges { node { clips(first: 100) { edges { node { id } } } } } } }"
MODEL = CostModel(list_size=20, max_page_size=100)


def cost(query: str, variables: dict[str, Any] | None = None) -> int | None:
    return operation_cost(build_schema()._schema, parse(query), None, variables, MODEL)


@pytest.mark.parametrize(
    ("query", "variables", "expected"),
    [
        # 1 connection + 100 projects + 100 clip connections + 10,000 clips.
        (WIDE, None, 10_201),
        ("{ projects(first: 20) { edges { node { id name status createdAt } } } }", None, 21),
        (
            "{ projects(first: 20) { edges { node { id clips(first: 5) { edges { node { id } } }"
            " } } } }",
            None,
            1 + 20 * (1 + 1 + 5),
        ),
        # The schema's default (20) for an absent first, and for first: null.
        ("{ projects { edges { node { id } } } }", None, 21),
        ("{ projects(first: null) { edges { node { id } } } }", None, 21),
        # A variable's value; a list with no first counts 20; pageInfo counts 1.
        (
            "query ($n: Int) { projects(first: $n) { pageInfo { hasNextPage }"
            " edges { cursor node { segments { id } } } } }",
            {"n": 7},
            1 + 1 + 7 * (1 + 20),
        ),
        # Fragments and aliases count as execution sees them.
        (
            "fragment C on Project { clips(first: 3) { edges { node { id } } } }"
            " { a: projects(first: 2) { edges { node { ...C } } }"
            " b: projects(first: 2) { edges { node { ... on Project { id } } } } }",
            None,
            (1 + 2 * (1 + 1 + 3)) + (1 + 2),
        ),
        # @skip / @include with their variables.
        (
            "query ($big: Boolean!) { projects(first: 10) { edges { node {"
            " clips(first: 100) @include(if: $big) { edges { node { id } } } } } } }",
            {"big": False},
            11,
        ),
        (
            "query ($big: Boolean!) { projects(first: 10) { edges { node {"
            " clips(first: 100) @include(if: $big) { edges { node { id } } } } } } }",
            {"big": True},
            1 + 10 * (1 + 1 + 100),
        ),
        # A first above the page cap counts as the cap (execution refuses it anyway).
        ("{ projects(first: 100000) { edges { node { id } } } }", None, 101),
        ("{ health { status } }", None, 1),
        ("{ __typename }", None, 0),
    ],
)
def test_cost_counts_the_objects_a_document_can_return(
    query: str, variables: dict[str, Any] | None, expected: int
) -> None:
    assert cost(query, variables) == expected


def test_no_cost_where_execution_refuses_first() -> None:
    # Variables that do not coerce, or an operation name that names nothing.
    assert cost("query ($n: Int!) { projects(first: $n) { edges { node { id } } } }", {}) is None
    assert operation_cost(build_schema()._schema, parse(WIDE), "Other", None, MODEL) is None


async def test_a_document_over_the_budget_is_refused_before_it_runs(api: Api) -> None:
    user = await api.new_user()
    await user.create_project("kept")
    result = await user.gql(WIDE)
    assert result.status_code == 200
    assert result.body["data"] is None
    (error,) = result.body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["cost"] == 10_201
    assert error["extensions"]["budget"] == api.settings.max_query_cost == 5000
    assert "10201" in error["message"]
    assert "5000" in error["message"]
    # The same through a variable, and a smaller page passes.
    query = (
        "query ($n: Int) { projects(first: $n) { edges { node { name"
        " clips(first: $n) { edges { node { id } } } } } } }"
    )
    assert (await user.gql(query, {"n": 100})).code == "BAD_USER_INPUT"
    names = (await user.gql(query, {"n": 5})).ok()["projects"]["edges"]
    assert [e["node"]["name"] for e in names] == ["kept"]


async def test_the_cost_is_reported_only_when_asked(api: Api) -> None:
    user = await api.new_user()
    query = "{ projects(first: 20) { edges { node { id } } } }"
    plain = await api.client.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {user.token}"}
    )
    assert "extensions" not in plain.json()
    asked = await api.client.post(
        "/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {user.token}", "X-Query-Cost": "report"},
    )
    assert asked.json()["extensions"] == {"cost": 21}
    assert asked.json()["data"] == plain.json()["data"]


@pytest.fixture
async def reporting_client(engine: AsyncEngine, settings: Settings) -> AsyncIterator[Api]:
    async with quiet_app_api(settings, engine, report_query_cost=True, max_query_cost=50) as api:
        yield api


async def test_settings_report_every_cost_and_set_the_budget(reporting_client: Api) -> None:
    user = await reporting_client.new_user()
    result = await user.gql("{ projects(first: 20) { edges { node { id } } } }")
    assert result.body["extensions"] == {"cost": 21}
    refused = await user.gql("{ projects(first: 60) { edges { node { id } } } }")
    assert refused.code == "BAD_USER_INPUT"
    assert refused.body["errors"][0]["extensions"]["budget"] == 50


def test_a_remembered_cost_is_never_another_variables_cost() -> None:
    schema = build_schema()._schema
    document = parse("query ($n: Int) { projects(first: $n) { edges { node { id } } } }")
    # true does not coerce to Int (no cost); 1 and 1.0 are equal, and hash alike, in Python.
    assert operation_cost(schema, document, None, {"n": True}, MODEL) is None
    assert operation_cost(schema, document, None, {"n": 1}, MODEL) == 2
    assert operation_cost(schema, document, None, {"n": 90}, MODEL) == 91
    assert operation_cost(schema, document, None, {"n": True}, MODEL) is None
    # A document of the same text parsed again is another object, and counts alike.
    again = parse("query ($n: Int) { projects(first: $n) { edges { node { id } } } }")
    assert operation_cost(schema, again, None, {"n": 90}, MODEL) == 91
