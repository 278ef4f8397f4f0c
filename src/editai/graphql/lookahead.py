"""What a query asks below the field being resolved: fields and their arguments.

A list resolver uses it to load, in its own turn, what every item's fields will ask for
(see ``projects/prefetch.py``). The walk is graphql-core's own field collection
(remembered per document: field_collection.py), so fragments, inline fragments,
aliases and ``@skip``/``@include`` count exactly as they do when the fields execute;
arguments are coerced by graphql-core too (variables, defaults). Only ever a hint: a
field loads what it needs itself if nothing was loaded for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLObjectType,
    GraphQLResolveInfo,
    get_argument_values,
    get_named_type,
)

from editai.graphql.field_collection import collect_fields_of


@dataclass(frozen=True)
class Selections:
    """The fields selected on one object type, by schema field name (aliases merged)."""

    info: GraphQLResolveInfo
    type: GraphQLObjectType | None
    nodes: dict[str, list[FieldNode]]

    def arguments(self, field: str) -> list[dict[str, Any]]:
        """The coerced arguments of every selection of ``field``, one dict per distinct
        set; empty when the query does not select it."""
        found = self.nodes.get(field)
        if not found or self.type is None:
            return []
        definition = self.type.fields[field]
        distinct: list[dict[str, Any]] = []
        for node in found:
            values = get_argument_values(definition, node, self.info.variable_values)
            if values not in distinct:
                distinct.append(values)
        return distinct


def selections_at(info: GraphQLResolveInfo, path: Sequence[str]) -> Selections:
    """The selections at ``path`` (schema field names) below the field being resolved.
    Empty when the query does not go there, or something on the way is not a plain
    object type."""
    parent: Any = get_named_type(info.return_type)
    selected = _collect(info, parent, list(info.field_nodes))
    for name in path:
        if selected is None or name not in selected:
            return Selections(info, None, {})
        parent = get_named_type(parent.fields[name].type)  # an object type: it was collected
        selected = _collect(info, parent, selected[name])
    if selected is None:
        return Selections(info, None, {})
    return Selections(info, parent, selected)


def _collect(
    info: GraphQLResolveInfo, parent: Any, nodes: list[FieldNode]
) -> dict[str, list[FieldNode]] | None:
    if not isinstance(parent, GraphQLObjectType):
        return None
    collected = collect_fields_of(
        info.schema, info.fragments, info.variable_values, info.operation, parent, nodes
    )
    by_name: dict[str, list[FieldNode]] = {}
    for group in collected.values():
        for node in group:
            by_name.setdefault(node.name.value, []).append(node)
    return by_name
