"""Mutation fields run one after another, each created only when its turn comes.

graphql-core 3.2's ``execute_fields_serially`` calls ``execute_field`` for every root
field up front (making each async resolver's coroutine) and awaits them in a chain.
When one field fails with an error that nulls ``data`` (every root mutation field is
non-null), the chain stops and the later coroutines are dropped never awaited: the
later mutations rightly do not run, but each leaves a ``RuntimeWarning: coroutine ...
was never awaited`` and, at worst, a traceback in the server's log. Here a field is
started only after the one before it has finished, so nothing is ever created that
will not run. Semantics are graphql-core's (and graphql-js's): fields in document
order, a failure that nulls ``data`` ends the operation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterator
from typing import Any

from graphql import FieldNode, GraphQLObjectType, Undefined
from graphql.pyutils import AwaitableOrValue, Path

from editai.graphql.leaf_fields import LeafFieldExecutionContext

Fields = Iterator[tuple[str, list[FieldNode]]]


class SerialMutationExecutionContext(LeafFieldExecutionContext):
    def execute_fields_serially(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        fields: dict[str, list[FieldNode]],
    ) -> AwaitableOrValue[dict[str, Any]]:
        results: dict[str, Any] = {}
        remaining = iter(fields.items())
        for response_name, field_nodes in remaining:
            result = self.execute_field(
                parent_type, source_value, field_nodes, Path(path, response_name, parent_type.name)
            )
            if result is Undefined:
                continue
            if self.is_awaitable(result):
                # From the first async field on, the rest runs in one coroutine.
                return self._finish_serially(
                    parent_type, source_value, path, results, response_name, result, remaining
                )
            results[response_name] = result
        return results

    async def _finish_serially(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        results: dict[str, Any],
        response_name: str,
        pending: Awaitable[Any],
        remaining: Fields,
    ) -> dict[str, Any]:
        results[response_name] = await pending
        for name, field_nodes in remaining:
            result = self.execute_field(
                parent_type, source_value, field_nodes, Path(path, name, parent_type.name)
            )
            if result is Undefined:
                continue
            results[name] = await result if self.is_awaitable(result) else result
        return results
