"""Error shaping: every error gets ``extensions.code``; unexpected ones are masked and logged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from editai.errors import AppError
from editai.logging import get_logger

log = get_logger("editai.graphql")

INTERNAL_MESSAGE = "Internal server error"


def shape_error(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, AppError):
        extensions = {**original.extensions, "code": original.code}
        return GraphQLError(
            original.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions=extensions,
        )
    if original is None or isinstance(original, GraphQLError):
        # Parse, validation, variable coercion and limiter errors: the document is at fault.
        code = (error.extensions or {}).get("code") or "BAD_USER_INPUT"
        return GraphQLError(
            error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={**(error.extensions or {}), "code": code},
        )
    # Anything else is a bug: keep the details in the server log only.
    return GraphQLError(
        INTERNAL_MESSAGE,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR"},
    )


def log_errors(errors: list[GraphQLError]) -> None:
    for error in errors:
        original = error.original_error
        if original is None or isinstance(original, AppError | GraphQLError):
            continue
        log.error(
            "unhandled error in resolver",
            path=".".join(str(p) for p in error.path or []),
            exc_info=(type(original), original, original.__traceback__),
        )


class ErrorShaping(SchemaExtension):
    """Runs last on the way out of an operation (also closes the request's session)."""

    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        yield
        context: Any = self.execution_context.context
        close = getattr(context, "close", None)
        if close is not None:
            await close()
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [shape_error(e) for e in errors]
