"""Pure ASGI middleware: a request id and one access log line per HTTP request."""

from __future__ import annotations

import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from editai.http_errors import internal_error_response
from editai.logging import bind_context, clear_context, get_logger

log = get_logger("editai.http")
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        clear_context()
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.fullmatch(incoming) else uuid.uuid4().hex
        bind_context(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The last wall: whatever failed below (an endpoint, the view, a middleware),
            # the client gets GraphQL-shaped JSON with the request id, never a traceback
            # or Starlette's plain-text 500.
            log.exception("unhandled error", path=scope.get("path"))
            if scope["type"] == "http" and not response_started:
                await internal_error_response()(scope, receive, send_with_id)
            elif scope["type"] == "websocket" and not response_started:
                await send({"type": "websocket.close", "code": 1011})
        finally:
            if scope["type"] == "http":
                log.info(
                    "request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )
            clear_context()
