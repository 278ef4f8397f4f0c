"""Last-resort error answers: GraphQL-shaped JSON with the request id, never a traceback."""

from __future__ import annotations

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

INTERNAL_MESSAGE = "Internal server error"


def request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


def error_body(message: str, code: str, **more: object) -> dict[str, object]:
    extensions: dict[str, object] = {**more, "code": code}
    if (rid := request_id()) is not None:
        extensions["requestId"] = rid
    return {"errors": [{"message": message, "extensions": extensions}]}


def internal_error_response() -> JSONResponse:
    """What any endpoint answers for an error nobody expected (the log has the details)."""
    return JSONResponse(error_body(INTERNAL_MESSAGE, "INTERNAL_SERVER_ERROR"), status_code=500)


_HTTP_CODES = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND"}


async def http_error_as_json(_request: Request, exc: Exception) -> Response:
    """Starlette's routing refusals (404, 405, ...) as JSON with a code, not plain text."""
    assert isinstance(exc, HTTPException)
    if exc.status_code < 400:  # pragma: no cover - redirects are not raised here
        return Response(status_code=exc.status_code, headers=exc.headers)
    code = _HTTP_CODES.get(exc.status_code, "BAD_USER_INPUT")
    if exc.status_code >= 500:
        code = "INTERNAL_SERVER_ERROR"
    return JSONResponse(error_body(str(exc.detail), code), exc.status_code, headers=exc.headers)
