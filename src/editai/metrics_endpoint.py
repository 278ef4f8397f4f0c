"""``GET /metrics``: the Prometheus exposition, behind a bearer token when one is set."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from editai.db.base import utcnow
from editai.http_errors import error_body
from editai.jobs.repository import JobRepository
from editai.metrics import StateCollector, exposition, pool_state
from editai.runtime import Runtime


def metrics_endpoint(runtime: Runtime) -> Callable[[Request], Awaitable[Response]]:
    token = runtime.settings.metrics_token

    async def metrics(request: Request) -> Response:
        if token is not None and not _bearer_matches(request, token.get_secret_value()):
            refusal = error_body("A valid metrics token is required", "UNAUTHENTICATED")
            return JSONResponse(refusal, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        async with runtime.sessions.system_read() as session:
            queue = await JobRepository(session).queued_by_kind()
        state = StateCollector(queue, pool_state(runtime.engine.pool), utcnow())
        body, content_type = exposition(state)
        return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})

    return metrics


def _bearer_matches(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())
