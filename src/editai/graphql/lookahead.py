"""What a query asks below the field being resolved: fields and their arguments.

A list resolver uses it to load, in its own turn, what every item's fields will ask for
(see ``projects/prefetch.py``). The walk is graphql-core's own field collection, so
fragments, inline fragments, aliases and ``@skip``/``@include`` count exactly as they
do when the fields execute; arguments are coerced by graphql-core too (variables,
defaults). Only ever a hint: a field loads what it needs itself if nothing was loaded
for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql import (
    FieldNode,
    GraphQLObjectType,
    GraphQLResolveInfo,
    get_argument_values,
    get_named_type,
)
from graphql.execution.collect_fields import collect_sub_fields


def selected_arguments(
    info: GraphQLResolveInfo, path: Sequence[str], field: str
) -> list[dict[str, Any]]:
    """The coerced arguments of every selection of ``field`` at ``path`` below the field
    being resolved (``path`` and ``field`` are schema field names, not aliases), one dict
    per distinct selection. Empty when the query does not ask for it, or when anything on
    the way is not a plain object type."""
    nodes: list[FieldNode] = list(info.field_nodes)
    parent = get_named_type(info.return_type)
    definition = None
    for name in (*path, field):
        if not isinstance(parent, GraphQLObjectType) or name not in parent.fields:
            return []
        collected = collect_sub_fields(
            info.schema, info.fragments, info.variable_values, parent, nodes
        )
        nodes = [n for group in collected.values() for n in group if n.name.value == name]
        if not nodes:
            return []
        definition = parent.fields[name]
        parent = get_named_type(definition.type)
    assert definition is not None  # the loop ran at least once: for ``field``
    arguments: list[dict[str, Any]] = []
    for node in nodes:
        values = get_argument_values(definition, node, info.variable_values)
        if values not in arguments:
            arguments.append(values)
    return arguments
