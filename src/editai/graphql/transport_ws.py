"""graphql-transport-ws with one database gate per operation, not per connection.

A WebSocket connection has one Context, but each ``subscribe`` message runs as a task
of its own: each gets its own gate (graphql/operation.py), closed when that operation
ends, completes, is cancelled by the client or dies with the socket.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.types import ExecutionResult

from editai.graphql.errors import shape_error
from editai.graphql.operation import operation_scope


class OperationScopedTransportWS(BaseGraphQLTransportWSHandler[Any, Any]):
    async def run_operation(self, operation: Any) -> None:
        context = self.context
        async with operation_scope(context.services.sessions, context.identity.session_scope):
            await super().run_operation(operation)

    async def _send_result_stream(self, operation: Any, result_source: Any) -> None:
        # Results sent over the socket skip the HTTP view's shaping: queries, mutations
        # and validation errors sent here get their codes (and masking) the same way.
        async with aclosing(_shaped(result_source)) as shaped:
            await super()._send_result_stream(operation, shaped)


async def _shaped(results: AsyncIterator[Any]) -> AsyncGenerator[Any, None]:
    async for result in results:
        if isinstance(result, ExecutionResult) and result.errors:
            result.errors = [shape_error(e) for e in result.errors]
        yield result
