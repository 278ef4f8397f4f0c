"""Errors the API shows to clients. Each carries one of the fixed ``extensions.code`` values.

Anything else raised while serving a request is a bug: it is logged with its traceback
and shown to the client only as ``INTERNAL_SERVER_ERROR``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from graphql import GraphQLError


class AppError(Exception):
    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"
    default_message: ClassVar[str] = "Internal server error"

    def __init__(self, message: str | None = None, **extensions: Any) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.extensions = extensions

    def as_graphql_error(self) -> GraphQLError:
        return GraphQLError(self.message, extensions={**self.extensions, "code": self.code})


class Unauthenticated(AppError):
    code = "UNAUTHENTICATED"
    default_message = "Authentication required"


class Forbidden(AppError):
    code = "FORBIDDEN"
    default_message = "Access denied"


class NotFound(AppError):
    code = "NOT_FOUND"
    default_message = "Not found"


class BadUserInput(AppError):
    code = "BAD_USER_INPUT"
    default_message = "Invalid input"


class Conflict(AppError):
    code = "CONFLICT"
    default_message = "Conflict"


class ServiceUnavailable(AppError):
    """The server could not answer now (database busy or gone, too slow): safe to retry.

    Keeps the fixed code set (DESIGN §6): INTERNAL_SERVER_ERROR, with a readable message
    and ``retryable: true`` so clients can tell it from a bug.
    """

    default_message = "The service is temporarily unavailable; try again"

    def __init__(self, message: str | None = None, **extensions: Any) -> None:
        super().__init__(message, retryable=True, **extensions)


class DatabaseBusy(ServiceUnavailable):
    default_message = "The database is busy; try again"


class DatabaseUnavailable(ServiceUnavailable):
    default_message = "The database connection was lost; try again"


class OperationTimedOut(ServiceUnavailable):
    default_message = "The operation took too long and was stopped; try again"
