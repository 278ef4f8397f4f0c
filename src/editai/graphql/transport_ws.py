"""graphql-transport-ws with one database gate per operation, not per connection.

A WebSocket connection has one Context, but each ``subscribe`` message runs as a task
of its own: each gets its own gate (graphql/operation.py), closed when that operation
ends, completes, is cancelled by the client or dies with the socket.
"""

from __future__ import annotations

from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from editai.graphql.operation import operation_scope


class OperationScopedTransportWS(BaseGraphQLTransportWSHandler[Any, Any]):
    async def run_operation(self, operation: Any) -> None:
        context = self.context
        async with operation_scope(context.services.sessions, context.identity.session_scope):
            await super().run_operation(operation)
