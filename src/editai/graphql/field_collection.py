"""graphql-core's field collection, remembered per parsed operation across requests.

Executing a selection set starts with collecting its fields: merging fragments and
inline fragments, checking ``@skip``/``@include``. graphql-core remembers the result
for the rest of one request only; for a nested page that was several walks of the
document per request, each tens of microseconds (issue 8's profile). The parsed
document is the same object for every request of the same text (ParserCache), so the
result is kept with its operation node, weakly: it goes when the document does.

What is collected depends on the document, the object type and the field nodes, and
on the values of the variables the document's ``@skip``/``@include`` use, which are
therefore part of the key. Nothing of a request's data or tenant is: it is the query's
shape.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    VariableNode,
    visit,
)
from graphql.execution.collect_fields import collect_sub_fields
from graphql.language import Visitor

Collected = dict[str, list[FieldNode]]
DerivedT = TypeVar("DerivedT")
_MAX_ENTRIES_PER_OPERATION = 1024  # bounds a pathological document's entries


class _OperationFields:
    def __init__(
        self, operation: OperationDefinitionNode, directive_variables: tuple[str, ...] | None
    ) -> None:
        self.operation = weakref.ref(operation)
        self.directive_variables = directive_variables  # None: never remembered
        self.entries: dict[tuple[Any, ...], Collected] = {}
        # What callers derive from a collected selection: (the selection, the value).
        self.derived: dict[tuple[int, Any], tuple[Collected, Any]] = {}


# By the operation node's id, not the node: AST nodes compare and hash by structure, so
# a weak-key lookup walked the whole document every time (5 % of a nested page). The
# entry holds a weak reference to check the id is still its node's, and goes with it.
_BY_OPERATION: dict[int, _OperationFields] = {}


def _fields_of(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> _OperationFields:
    key = id(operation)
    fields = _BY_OPERATION.get(key)
    if fields is None or fields.operation() is not operation:
        fields = _BY_OPERATION[key] = _OperationFields(
            operation, _directive_variables(operation, fragments)
        )
        weakref.finalize(operation, _forget, key, fields)
    return fields


def _forget(key: int, fields: _OperationFields) -> None:
    if _BY_OPERATION.get(key) is fields:
        del _BY_OPERATION[key]


def collect_fields_of(
    schema: GraphQLSchema,
    fragments: dict[str, FragmentDefinitionNode],
    variable_values: dict[str, Any],
    operation: OperationDefinitionNode,
    return_type: GraphQLObjectType,
    field_nodes: list[FieldNode],
) -> Collected:
    """``collect_sub_fields`` of graphql-core, remembered for ``operation``. The result
    is shared: callers must not change it (graphql-core's own callers do not)."""
    fields = _fields_of(operation, fragments)
    conditions = (
        ()
        if fields.directive_variables is None
        else tuple(variable_values.get(n) for n in fields.directive_variables)
    )
    if fields.directive_variables is None or not all(
        isinstance(c, bool) or c is None for c in conditions
    ):
        # @skip/@include take a Boolean!: anything else is left to graphql-core, unkept.
        return collect_sub_fields(schema, fragments, variable_values, return_type, field_nodes)
    # The nodes are this document's, alive as long as it is: their ids are stable.
    key = (return_type, *map(id, field_nodes), *conditions)
    collected = fields.entries.get(key)
    if collected is None:
        collected = collect_sub_fields(schema, fragments, variable_values, return_type, field_nodes)
        if len(fields.entries) < _MAX_ENTRIES_PER_OPERATION:
            fields.entries[key] = collected
    return collected


def _directive_variables(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> tuple[str, ...] | None:
    """Names of the variables any ``@skip``/``@include`` of the operation (or of its
    fragments) takes, in a fixed order; None when a condition is neither a variable
    nor a literal Boolean (validation refuses that: nothing is remembered then)."""
    names: set[str] = set()
    unusual = False

    class Directives(Visitor):
        def enter_directive(self, node: Any, *_: Any) -> None:
            nonlocal unusual
            if node.name.value not in ("skip", "include"):
                return
            for argument in node.arguments:
                if isinstance(argument.value, VariableNode):
                    names.add(argument.value.name.value)
                elif not isinstance(argument.value, BooleanValueNode):
                    unusual = True

    visit(DocumentNode(definitions=(operation, *fragments.values())), Directives())
    return None if unusual else tuple(sorted(names))


def derived_from(
    operation: OperationDefinitionNode,
    collected: Collected,
    kind: Any,
    derive: Callable[[], DerivedT],
) -> DerivedT:
    """``derive()`` for a selection this module collected for ``operation``, remembered
    with it (``kind`` tells apart what is derived). A selection collected elsewhere
    (graphql-core's root fields) is derived every time."""
    fields = _BY_OPERATION.get(id(operation))
    if fields is None or fields.operation() is not operation:
        return derive()
    key = (id(collected), kind)
    found = fields.derived.get(key)
    if found is not None and found[0] is collected:
        return found[1]  # type: ignore[no-any-return]
    value = derive()
    if any(c is collected for c in fields.entries.values()):
        fields.derived[key] = (collected, value)
    return value
