"""Field collection remembered per parsed operation (graphql/field_collection.py): the
same fields as graphql-core collects, whatever the directive variables of each request,
and nothing kept once the document is gone."""

from __future__ import annotations

import gc
import itertools
import weakref

from graphql import (
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    parse,
)
from graphql.execution.collect_fields import collect_sub_fields

from editai.graphql import field_collection
from tests.api import Api

DOCUMENT = """query($a: Boolean!, $b: Boolean!) { projects { edges { node {
    id name @include(if: $a) ...F } } } }
  fragment F on Project { status @skip(if: $b) description @skip(if: false) }"""


async def test_each_request_gets_the_fields_its_own_variables_select(api: Api) -> None:
    user = await api.new_user()
    await user.create_project("p")
    # Every combination, twice over, on one document: a remembered collection for one
    # combination must never answer another.
    for a, b in [*itertools.product([True, False], repeat=2)] * 2:
        answer = await user.gql(DOCUMENT, {"a": a, "b": b})
        node = answer.ok()["projects"]["edges"][0]["node"]
        assert set(node) == {"id", "description"} | ({"name"} if a else set()) | (
            set() if b else {"status"}
        ), (a, b, node)


def _schema() -> tuple[GraphQLSchema, GraphQLObjectType]:
    item = GraphQLObjectType("Item", {"a": GraphQLField(GraphQLString)})
    query = GraphQLObjectType("Query", {"item": GraphQLField(item)})
    return GraphQLSchema(query), query


def test_the_same_as_graphql_core_and_gone_with_the_document() -> None:
    schema, query = _schema()
    document = parse("query($x: Boolean!) { item { a } other: item @include(if: $x) { a } }")
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    nodes = [operation]  # the root selection set, as the executor passes it
    for x in (True, False, True):
        got = field_collection.collect_fields_of(
            schema,
            {},
            {"x": x},
            operation,
            query,
            nodes,  # type: ignore[arg-type]
        )
        expected = collect_sub_fields(schema, {}, {"x": x}, query, nodes)  # type: ignore[arg-type]
        assert got == expected
        assert ("other" in got) is x
    key = id(operation)
    assert len(field_collection._BY_OPERATION[key].entries) == 2  # one per value of $x
    alive = weakref.ref(operation)
    del document, operation, nodes, got, expected
    gc.collect()
    assert alive() is None
    assert key not in field_collection._BY_OPERATION
