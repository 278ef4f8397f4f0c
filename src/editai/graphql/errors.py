"""Error shaping: every error gets ``extensions.code``; unexpected ones are masked and logged."""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import GraphQLError
from sqlalchemy import exc as sa_exc
from strawberry.extensions import SchemaExtension

from editai.db.connection_health import is_connection_lost
from editai.errors import AppError, DatabaseBusy, DatabaseUnavailable
from editai.logging import get_logger

log = get_logger("editai.graphql")

INTERNAL_MESSAGE = "Internal server error"


def as_app_error(original: BaseException | None) -> AppError | None:
    """The client-facing meaning of an error, when it has one.

    Infrastructure trouble that a retry can cure (SQLite's write lock or the pool busy
    past their bounded waits, a connection the database dropped) is not a bug: it gets
    a readable, retryable error instead of the masked one.
    """
    if isinstance(original, AppError):
        return original
    if isinstance(original, sa_exc.TimeoutError):  # no pooled connection in time
        return DatabaseBusy()
    if isinstance(original, sa_exc.OperationalError) and "database is locked" in str(original.orig):
        return DatabaseBusy()
    if original is not None and is_connection_lost(original):
        return DatabaseUnavailable()
    return None


def shape_error(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    app_error = as_app_error(original)
    if app_error is not None:
        extensions = {**app_error.extensions, "code": app_error.code}
        return GraphQLError(
            app_error.message,
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
        if as_app_error(original) is not None:
            log.warning(
                "database unavailable for a field",
                path=".".join(str(p) for p in error.path or []),
                error=f"{type(original).__name__}: {original}",
            )
            continue
        log.error(
            "unhandled error in resolver",
            path=".".join(str(p) for p in error.path or []),
            exc_info=(type(original), original, original.__traceback__),
        )


class ErrorShaping(SchemaExtension):
    """Runs last on the way out of an operation: every error gets its code."""

    async def on_operation(self) -> AsyncIterator[None]:  # type: ignore[override]
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [shape_error(e) for e in errors]
