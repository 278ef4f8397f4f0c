"""What a document can return, counted before it runs: the breadth limit.

Depth, alias and token limits bound a document's shape, not what it asks for:
``projects(first: 100) { edges { node { clips(first: 100) { ... } } } }`` is shallow and
short, and asks for 10,000 clips. The cost of an operation is the number of objects it
can return at most:

* every object a field returns counts 1 (a connection, a node, ``pageInfo``, a nested
  object); scalars and enums count nothing;
* a paginated field's ``first`` (its value, the variable's, or the schema's default)
  is how many edges its connection can hold: each edge's ``node`` counts, and what the
  node selects counts once per edge (the edge itself is a wrapper, not counted);
* any other list counts ``list_size`` items (a setting: an estimate, as no argument
  bounds them).

Fragments, inline fragments and ``@skip``/``@include`` count as execution will see them
(graphql-core's own field collection, remembered per document: graphql/field_collection.py).
Nothing of the data is read: the cost of a document and its variables is the same for
every tenant.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_operation_ast,
)
from graphql.execution.collect_fields import collect_fields
from graphql.execution.values import get_argument_values, get_variable_values

from editai.graphql.field_collection import collect_fields_of
from editai.pagination import DEFAULT_PAGE_SIZE

PAGE_ARGUMENT = "first"


@dataclass(frozen=True)
class CostModel:
    list_size: int  # items assumed for a list with no ``first``
    max_page_size: int  # what ``first`` is capped at (a larger one is refused anyway)


_SCALARS = (str, int, float, bool, type(None))
_CACHE_SIZE = 1024
# By the parsed document's id (the same object for every request of the same text:
# the parse cache), checked through a weak reference: AST nodes hash by structure, so a
# dict keyed by the node would walk the document per lookup. ~20 us saved per request.
_remembered: dict[tuple[Any, ...], tuple[weakref.ref[DocumentNode], int | None]] = {}


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    raw_variables: dict[str, Any] | None,
    model: CostModel,
) -> int | None:
    """The cost of the operation, or None where execution will refuse it first (no such
    operation, variables that do not coerce): the cost is then not the error to give.

    Remembered per document, operation, model and variables when the variables are
    plain scalars (what a cost can depend on: ``first`` and ``@skip``/``@include``)."""
    variables = raw_variables or {}
    if not all(isinstance(v, _SCALARS) for v in variables.values()):
        return _cost(schema, document, operation_name, variables, model)
    # With each value's type: True, 1 and 1.0 are equal keys, not equal variables.
    values = sorted((name, type(v).__name__, v) for name, v in variables.items())
    key = (id(schema), id(document), operation_name, model, *values)
    found = _remembered.get(key)
    if found is not None and found[0]() is document:
        return found[1]
    cost = _cost(schema, document, operation_name, variables, model)
    if len(_remembered) >= _CACHE_SIZE:
        _remembered.clear()
    _remembered[key] = (weakref.ref(document), cost)
    return cost


def _cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    raw_variables: dict[str, Any],
    model: CostModel,
) -> int | None:
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    variables = get_variable_values(schema, operation.variable_definitions, raw_variables)
    if isinstance(variables, list):
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    walk = _Walk(schema, fragments, variables, operation, model)
    fields = collect_fields(schema, fragments, variables, root, operation.selection_set)
    return walk.selection(root, fields)


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        operation: OperationDefinitionNode,
        model: CostModel,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.operation = operation
        self.model = model

    def selection(
        self, parent: GraphQLObjectType, fields: dict[str, list[FieldNode]], page: int = 1
    ) -> int:
        """The cost of one instance of ``parent`` selecting ``fields``; ``page`` is the
        number of edges when ``parent`` is a connection."""
        total = 0
        for nodes in fields.values():
            field_def = parent.fields.get(nodes[0].name.value)
            if field_def is None:
                continue  # __typename (validation refuses unknown fields)
            named, is_list = _unwrap(field_def.type)
            if not isinstance(named, GraphQLObjectType):
                continue  # a scalar or an enum, or a list of them
            sub = collect_fields_of(
                self.schema, self.fragments, self.variables, self.operation, named, nodes
            )
            first = self._first(field_def, nodes[0])
            each = self.selection(named, sub, page=first if first is not None else 1)
            if is_list and _is_connection(parent):
                total += page * each  # the edges: wrappers, each counting what it holds
            elif is_list:
                total += self.model.list_size * (1 + each)
            else:
                total += 1 + each
        return total

    def _first(self, field_def: Any, node: FieldNode) -> int | None:
        if PAGE_ARGUMENT not in field_def.args:
            return None
        try:
            value = get_argument_values(field_def, node, self.variables).get(PAGE_ARGUMENT)
        except GraphQLError:
            return self.model.max_page_size  # refused at execution; never cheaper here
        if value is None:
            return DEFAULT_PAGE_SIZE  # what a page of ``first: null`` holds
        if not isinstance(value, int):
            return self.model.max_page_size
        return max(0, min(value, self.model.max_page_size))


def _unwrap(type_: Any) -> tuple[Any, bool]:
    is_list = False
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        is_list = is_list or isinstance(type_, GraphQLList)
        type_ = type_.of_type
    return type_, is_list


def _is_connection(type_: GraphQLObjectType) -> bool:
    return "edges" in type_.fields and "pageInfo" in type_.fields
