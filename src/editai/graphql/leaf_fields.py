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

import uuid
from asyncio import gather
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
    located_error,
)
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import CustomGraphQLEnumType, GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from editai.graphql.field_collection import collect_fields_of, derived_from

# The plan of a field, kept on the field definition itself (schema structure, the same
# for every request and tenant; GraphQLField is not hashable, so not a dict key).
_PLAN = "_editai_field_plan"
_UNSET = object()


@dataclass(frozen=True, slots=True)
class LeafPlan:
    attribute: str
    leaf_type: GraphQLLeafType
    non_null: bool
    # A strawberry enum's Python class and names by member, as its serialize finds them
    # (with a scan per call).
    enum_type: type | None = None
    enum_names: dict[Any, str] | None = None


@dataclass(frozen=True, slots=True)
class ObjectPlan:
    """A plain attribute holding an object, or a list of objects (``item_non_null``)."""

    attribute: str
    object_type: GraphQLObjectType
    non_null: bool
    is_list: bool
    item_non_null: bool


def field_plan(field_def: GraphQLField) -> LeafPlan | ObjectPlan | None:
    plan = field_def.__dict__.get(_PLAN, _UNSET)
    if plan is _UNSET:
        plan = _plan_for(field_def)
        field_def.__dict__[_PLAN] = plan
    return plan  # type: ignore[no-any-return]


def leaf_plan(field_def: GraphQLField) -> LeafPlan | None:
    plan = field_plan(field_def)
    return plan if isinstance(plan, LeafPlan) else None


def _plan_for(field_def: GraphQLField) -> LeafPlan | ObjectPlan | None:
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field:
        return None
    # strawberry's own resolver for a basic field (schema_converter.from_resolver), which
    # calls the configured default resolver: only plain getattr is mirrored here.
    if getattr(field_def.resolve, "__name__", None) != "_get_basic_result":
        return None
    if definition.default_resolver is not getattr:
        return None
    non_null, inner = _unwrap_non_null(field_def.type)
    if is_leaf_type(inner):
        enum_type = inner.wrapped_cls if isinstance(inner, CustomGraphQLEnumType) else None
        return LeafPlan(definition.python_name, inner, non_null, enum_type, _enum_names(inner))
    if _plain_object(inner):
        return ObjectPlan(definition.python_name, inner, non_null, False, False)
    if isinstance(inner, GraphQLList):
        item_non_null, item = _unwrap_non_null(inner.of_type)
        if _plain_object(item):
            return ObjectPlan(definition.python_name, item, non_null, True, item_non_null)
    return None


_LEAF_OBJECT = "leaf-object"


def _leaf_object_plan(
    parent_type: GraphQLObjectType, fields: dict[str, list[FieldNode]]
) -> list[tuple[str, LeafPlan]] | None:
    """(response name, plan) of every selected field, when each is a short-road leaf
    with no arguments (``__typename`` and anything else: None)."""
    plans: list[tuple[str, LeafPlan]] = []
    for response_name, field_nodes in fields.items():
        node = field_nodes[0]
        field_def = parent_type.fields.get(node.name.value)
        if field_def is None or node.arguments:
            return None
        plan = leaf_plan(field_def)
        if plan is None:
            return None
        plans.append((response_name, plan))
    return plans


def _enum_names(leaf_type: Any) -> dict[Any, str] | None:
    """What ``CustomGraphQLEnumType.serialize`` answers for each member of its Python
    enum: the first name whose value equals the member's value."""
    if not isinstance(leaf_type, CustomGraphQLEnumType):
        return None
    names: dict[Any, str] = {}
    member: Any
    for member in leaf_type.wrapped_cls:
        for name, value in leaf_type.values.items():
            if member.value == value.value:
                names[member] = name
                break
    return names


def _unwrap_non_null(type_: Any) -> tuple[bool, Any]:
    if isinstance(type_, GraphQLNonNull):
        return True, type_.of_type
    return False, type_


def _plain_object(type_: Any) -> bool:
    # No is_type_of: graphql-core's object completion then needs nothing but the fields
    # (strawberry sets one only for types with interfaces).
    return isinstance(type_, GraphQLObjectType) and type_.is_type_of is None


# Values of these exact types are never awaitable: a set lookup instead of strawberry's
# awaitable check (several attribute probes) for nearly every leaf of a page.
_NEVER_AWAITABLE = frozenset({str, int, float, bool, uuid.UUID, datetime})


class LeafFieldExecutionContext(StrawberryGraphQLCoreExecutionContext):
    fast_leaves = True  # the general road only, when False (to compare the two)

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_nodes: list[FieldNode],
        path: Path,
    ) -> AwaitableOrValue[Any]:
        if self._short_roads_open():
            node = field_nodes[0]
            field_def = parent_type.fields.get(node.name.value)
            if field_def is not None and not node.arguments:
                plan = field_plan(field_def)
                if isinstance(plan, LeafPlan):
                    answered, value = self._answer_leaf(source, plan)
                    if answered:
                        return value
                elif plan is not None:
                    items = self._objects_of(source, plan)
                    if items is not None:
                        return self._complete_objects(plan, field_def, field_nodes, path, items)
        return super().execute_field(parent_type, source, field_nodes, path)

    def _short_roads_open(self) -> bool:
        # strawberry always passes a manager; it is empty unless an extension resolves.
        manager = self.middleware_manager
        return self.fast_leaves and (manager is None or not manager.middlewares)

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        fields: dict[str, list[FieldNode]],
    ) -> AwaitableOrValue[dict[str, Any]]:
        """graphql-core's, except that a selection with only one awaitable field awaits it
        directly: ``gather`` of one coroutine wraps it in a task of its own for nothing
        (the root field of nearly every query)."""
        answered = self._answer_leaf_object(parent_type, source_value, fields)
        if answered is not None:
            return answered
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        for response_name, field_nodes in fields.items():
            field_path = Path(path, response_name, parent_type.name)
            result = self.execute_field(parent_type, source_value, field_nodes, field_path)
            if result is not Undefined:
                results[response_name] = result
                if is_awaitable(result):
                    awaitable_fields.append(response_name)
        if not awaitable_fields:
            return results
        if len(awaitable_fields) == 1:
            only = awaitable_fields[0]

            async def get_result() -> dict[str, Any]:
                results[only] = await results[only]
                return results

            return get_result()

        async def get_results() -> dict[str, Any]:
            done = await gather(*(results[name] for name in awaitable_fields))
            results.update(zip(awaitable_fields, done, strict=True))
            return results

        return get_results()

    def _answer_leaf_object(
        self, parent_type: GraphQLObjectType, source: Any, fields: dict[str, list[FieldNode]]
    ) -> dict[str, Any] | None:
        """An object whose selected fields are all short-road leaves, answered in one
        loop; None (nothing done) for the field-by-field way when one is not answered
        on the short road: that way starts over, and raises exactly where it should."""
        if not self._short_roads_open():
            return None
        plans = derived_from(
            self.operation,
            fields,
            (_LEAF_OBJECT, parent_type),
            lambda: _leaf_object_plan(parent_type, fields),
        )
        if plans is None:
            return None
        answer: dict[str, Any] = {}
        for response_name, plan in plans:
            done, value = self._answer_leaf(source, plan)
            if not done:
                return None
            answer[response_name] = value
        return answer

    def collect_subfields(
        self, return_type: GraphQLObjectType, field_nodes: list[FieldNode]
    ) -> dict[str, list[FieldNode]]:
        # graphql-core's per-request memo first (its cheap key), then what is remembered
        # across requests of the same document (graphql/field_collection.py).
        cache = self._subfields_cache
        key = (
            (return_type, id(field_nodes[0]))
            if len(field_nodes) == 1
            else (return_type, *map(id, field_nodes))
        )
        collected = cache.get(key)
        if collected is None:
            collected = cache[key] = collect_fields_of(
                self.schema,
                self.fragments,
                self.variable_values,
                self.operation,
                return_type,
                field_nodes,
            )
        return collected

    def _answer_leaf(self, source: Any, plan: LeafPlan) -> tuple[bool, Any]:
        try:
            value = getattr(source, plan.attribute)
        except Exception:
            return False, None
        if value is None:
            return (not plan.non_null), None
        if type(value) is plan.enum_type and plan.enum_names is not None:
            name = plan.enum_names.get(value)
            if name is not None:
                return True, name
        if type(value) not in _NEVER_AWAITABLE and self.is_awaitable(value):
            return False, None
        try:
            serialized = plan.leaf_type.serialize(value)
        except Exception:
            return False, None
        if serialized is None or serialized is Undefined:
            return False, None
        return True, serialized

    def _objects_of(self, source: Any, plan: ObjectPlan) -> list[Any] | None:
        """The objects to complete (``[None]`` for a null where one is allowed), or None
        for the general road: a value it would refuse, or anything unusual. Decided
        before anything runs, so the general road starts from scratch."""
        try:
            value = getattr(source, plan.attribute)
        except Exception:
            return None
        if value is None:
            return None if plan.non_null else [None]
        if not plan.is_list:
            return None if self.is_awaitable(value) else [value]
        if not isinstance(value, list | tuple):
            return None
        for item in value:
            if item is None or self.is_awaitable(item):
                return None  # a null item, or an awaitable one: the general road's job
        return list(value)

    def _complete_objects(
        self,
        plan: ObjectPlan,
        field_def: GraphQLField,
        field_nodes: list[FieldNode],
        path: Path,
        items: list[Any],
    ) -> AwaitableOrValue[Any]:
        """What ``execute_field`` then ``complete_value`` do with such a value, minus the
        resolver call and its info: the sub-selections of each object executed, errors
        located and handled at this field (or at the list item) as graphql-core does."""
        if not plan.is_list and items[0] is None:
            return None
        subfields = self.collect_subfields(plan.object_type, field_nodes)
        completed: Any
        try:
            if not plan.is_list:
                completed = self.execute_fields(plan.object_type, items[0], path, subfields)
            else:
                completed = self._complete_object_list(plan, field_nodes, path, items, subfields)
            if self.is_awaitable(completed):
                return self._located(completed, field_nodes, path, field_def.type)
            return completed
        except Exception as raw_error:
            error = located_error(raw_error, field_nodes, path.as_list())
            self.handle_field_error(error, field_def.type, path)
            return None

    def _complete_object_list(
        self,
        plan: ObjectPlan,
        field_nodes: list[FieldNode],
        path: Path,
        items: list[Any],
        subfields: dict[str, list[FieldNode]],
    ) -> AwaitableOrValue[list[Any]]:
        # complete_list_value: an item's error is handled at the item (null there, or
        # raised on when the item type is non-null).
        item_type: Any = (
            GraphQLNonNull(plan.object_type) if plan.item_non_null else plan.object_type
        )
        results: list[Any] = []
        pending: list[int] = []
        for index, item in enumerate(items):
            item_path = path.add_key(index, None)
            try:
                completed = self.execute_fields(plan.object_type, item, item_path, subfields)
            except Exception as raw_error:
                error = located_error(raw_error, field_nodes, item_path.as_list())
                self.handle_field_error(error, item_type, item_path)
                completed = None
            if self.is_awaitable(completed):
                completed = self._located(completed, field_nodes, item_path, item_type)
                pending.append(index)
            results.append(completed)
        if not pending:
            return results

        async def gathered() -> list[Any]:
            done = await gather(*(results[i] for i in pending))
            for index, value in zip(pending, done, strict=True):
                results[index] = value
            return results

        return gathered()

    async def _located(
        self, completed: Any, field_nodes: list[FieldNode], path: Path, return_type: Any
    ) -> Any:
        """Await a field's (or a list item's) completion; an error is located and handled
        there, as graphql-core's ``await_completed`` does."""
        try:
            return await completed
        except Exception as raw_error:
            error = located_error(raw_error, field_nodes, path.as_list())
            self.handle_field_error(error, return_type, path)
            return None
