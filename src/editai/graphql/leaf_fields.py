"""A shorter road for the commonest field: a plain attribute of a scalar or enum type.

graphql-core resolves every field the same way: it builds a ``GraphQLResolveInfo``,
coerces the arguments, calls the resolver (for a strawberry field without a resolver,
a wrapper that calls ``getattr``), checks for an awaitable, then dispatches on the
return type to serialize it. For ``id``, ``name``, ``status`` ... of a page of rows that
was most of the execution time (issue 8's profile). Here such a field is answered by
``getattr`` and the type's own ``serialize``, the very calls that road ends in, so the
answer is the same value.

Only when all of this holds: the field is a strawberry *basic* field (no resolver, no
field extensions; strawberry itself then resolves it with ``getattr`` and no info), its
type is a scalar or an enum, the field node has no arguments, and no middleware is set.
Whenever anything is unusual (the attribute raises, is None on a non-null field, is
awaitable, or does not serialize), the field goes the general way, which raises and
locates the error exactly as before.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from editai.graphql.field_collection import collect_fields_of

# The plan of a field, kept on the field definition itself (schema structure, the same
# for every request and tenant; GraphQLField is not hashable, so not a dict key).
_PLAN = "_editai_leaf_plan"
_UNSET = object()
LeafPlan = tuple[str, GraphQLLeafType, bool]  # (attribute, leaf type, non-null)


def leaf_plan(field_def: GraphQLField) -> LeafPlan | None:
    plan = field_def.__dict__.get(_PLAN, _UNSET)
    if plan is _UNSET:
        plan = _plan_for(field_def)
        field_def.__dict__[_PLAN] = plan
    return plan  # type: ignore[no-any-return]


def _plan_for(field_def: GraphQLField) -> LeafPlan | None:
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
        return None
    # strawberry's own resolver for a basic field (schema_converter.from_resolver), which
    # calls the configured default resolver: only plain getattr is mirrored here.
    if getattr(field_def.resolve, "__name__", None) != "_get_basic_result":
        return None
    if definition.default_resolver is not getattr:
        return None
    field_type = field_def.type
    non_null = isinstance(field_type, GraphQLNonNull)
    inner = field_type.of_type if isinstance(field_type, GraphQLNonNull) else field_type
    if not is_leaf_type(inner):
        return None
    return definition.python_name, inner, non_null  # type: ignore[return-value]


class LeafFieldExecutionContext(StrawberryGraphQLCoreExecutionContext):
    fast_leaves = True  # the general road only, when False (to compare the two)

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_nodes: list[FieldNode],
        path: Path,
    ) -> AwaitableOrValue[Any]:
        # strawberry always passes a manager; it is empty unless an extension resolves.
        manager = self.middleware_manager
        if self.fast_leaves and (manager is None or not manager.middlewares):
            node = field_nodes[0]
            field_def = parent_type.fields.get(node.name.value)
            if field_def is not None and not node.arguments:
                plan = leaf_plan(field_def)
                if plan is not None:
                    answered, value = self._answer_leaf(source, plan)
                    if answered:
                        return value
        return super().execute_field(parent_type, source, field_nodes, path)

    def collect_subfields(
        self, return_type: GraphQLObjectType, field_nodes: list[FieldNode]
    ) -> dict[str, list[FieldNode]]:
        # Remembered across requests of the same document (graphql/field_collection.py).
        return collect_fields_of(
            self.schema,
            self.fragments,
            self.variable_values,
            self.operation,
            return_type,
            field_nodes,
        )

    def _answer_leaf(self, source: Any, plan: LeafPlan) -> tuple[bool, Any]:
        attribute, leaf_type, non_null = plan
        try:
            value = getattr(source, attribute)
        except Exception:
            return False, None
        if value is None:
            return (not non_null), None
        if self.is_awaitable(value):
            return False, None
        try:
            serialized = leaf_type.serialize(value)
        except Exception:
            return False, None
        if serialized is None or serialized is Undefined:
            return False, None
        return True, serialized
