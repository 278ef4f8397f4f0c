"""The strawberry ASGI view: builds the per-operation Context from the request.

HTTP requests pass the upload guards first (CSRF prevention, body size cap; see
``editai.graphql.uploads``); multipart bodies follow the GraphQL multipart request spec.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import SubscriptionExecutionResult
from strawberry.types.unset import UnsetType

from editai.auth.resolver import Identity, IdentityResolver
from editai.errors import AppError, OperationTimedOut, ServiceUnavailable
from editai.graphiql.page import GraphiQLPage
from editai.graphql.context import Context
from editai.graphql.errors import as_app_error, shape_error
from editai.graphql.json_encoding import encode_answer_text
from editai.graphql.operation import OperationDatabase, current_operation, operation_scope
from editai.graphql.transport_ws import OperationScopedTransportWS
from editai.graphql.uploads import (
    CSRF_MESSAGE,
    FORM_OVERHEAD_BYTES,
    BodyCap,
    RequestBodyTooLarge,
    UploadRefused,
    UploadRequestAdapter,
    capped_receive,
    declared_too_large,
    graphql_error_response,
    is_csrf_risk,
    is_multipart,
    too_large_response,
)
from editai.http_errors import error_body, internal_error_response
from editai.logging import bind_context, get_logger
from editai.media.downloads import one_expiry_per_request
from editai.media.storage import StorageUnavailable
from editai.metrics import count_errors
from editai.persisted_queries.service import PersistedQueries
from editai.quotas.uploads import cap_body_to_quota
from editai.runtime import Runtime

log = get_logger("editai.graphql")


class DocumentRefused(Exception):
    """No document to run: an unknown or mismatched persisted query, or one not allowed."""

    def __init__(self, error: AppError) -> None:
        super().__init__(error.message)
        self.error = error


def _identity_of(request: Request) -> Identity:
    identity: Identity = request.state.identity  # get_context sets it before any field runs
    return identity


class EditAIGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = OperationScopedTransportWS

    def __init__(
        self,
        schema: Any,
        services: Runtime,
        identities: IdentityResolver,
        ide: GraphiQLPage | None = None,
        **kwargs: Any,
    ) -> None:
        # graphql-transport-ws only: the legacy graphql-ws protocol is not offered.
        kwargs.setdefault("subscription_protocols", (GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        # Our own page (graphiql/page.py) where strawberry would render its CDN one; without
        # it, strawberry answers a browser's GET 404.
        kwargs["graphql_ide"] = "graphiql" if ide is not None else None
        self.ide = ide
        kwargs.setdefault("multipart_uploads_enabled", True)
        super().__init__(schema, **kwargs)
        self.services = services
        self.identities = identities
        self.max_upload_bytes = services.settings.max_upload_bytes
        self.max_body_bytes = self.max_upload_bytes + FORM_OVERHEAD_BYTES
        self.persisted = PersistedQueries(services.sessions, services.settings)
        spool_dir = services.storage.upload_temp_dir()
        start_upload = services.storage.streaming_upload
        # strawberry only calls it with the request (the base class annotates it a Callable).
        self.request_adapter_class = lambda request: UploadRequestAdapter(  # type: ignore[assignment]
            request, spool_dir, start_upload
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        cap = BodyCap(self.max_body_bytes)
        request = Request(scope, capped_receive(receive, cap))
        request.state.body_cap = cap
        try:
            # The request is one operation: it owns its database gate, closed here
            # however the request ends (graphql/operation.py).
            with one_expiry_per_request():
                async with operation_scope(
                    self.services.sessions, lambda: _identity_of(request).session_scope()
                ):
                    response = await self._respond(request)
        except Exception as exc:
            response = self._failure_response(exc)
        finally:
            await request.close()  # the spooled upload files
        await response(scope, receive, send)

    @staticmethod
    def _failure_response(exc: Exception) -> Response:
        """An error outside the resolvers (the context, the gate, the view itself)."""
        app_error = as_app_error(exc)
        if isinstance(app_error, ServiceUnavailable):
            # The database busy or gone (retries exhausted): not a bug, and worth a retry.
            log.warning(
                "request failed: database unavailable", error=f"{type(exc).__name__}: {exc}"
            )
            count_errors([app_error.code])
            body = error_body(app_error.message, app_error.code, **app_error.extensions)
            return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
        log.exception("unhandled error while answering a GraphQL request")
        count_errors(["INTERNAL_SERVER_ERROR"])
        return internal_error_response()

    async def _respond(self, request: Request) -> Response:
        # Checks that need only the headers come first: a refused body is never read.
        if is_csrf_risk(request):
            return graphql_error_response(CSRF_MESSAGE, 400)
        if declared_too_large(request, self.max_body_bytes):
            return too_large_response(self.max_upload_bytes)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            # Malformed JSON, a wrong method, no query...: the client's error, as GraphQL.
            return graphql_error_response(exc.reason, exc.status_code)
        except RequestBodyTooLarge:
            refusal = request.state.body_cap.refusal
            if refusal is not None:  # past the profile's storage quota (quotas/uploads.py)
                return graphql_error_response(
                    refusal.message, 413, refusal.code, **refusal.extensions
                )
            return too_large_response(self.max_upload_bytes)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read it
        except StorageUnavailable as exc:
            # The store failed while an upload streamed into it (already discarded).
            log.warning("upload refused: media store unavailable", error=str(exc))
            return graphql_error_response(
                f"The video could not be stored: {exc}",
                503,
                "INTERNAL_SERVER_ERROR",
                retryable=True,
            )
        except UploadRefused as exc:
            error = exc.error
            return graphql_error_response(
                error.message, exc.status_code, error.code, **error.extensions
            )
        except DocumentRefused as exc:
            return graphql_error_response(exc.error.message, 200, exc.error.code)
        if request.method == "GET":
            # Queries by GET (persisted queries' hashes): an answer is one user's, in one
            # profile; no shared cache may keep it, and none may serve it to another.
            response.headers["Cache-Control"] = "private, no-store"
            response.headers["Vary"] = "Authorization, X-Profile-Id"
        return response

    def encode_json(self, data: object) -> str:
        # strawberry's json.dumps(data, separators=(",", ":")), byte for byte, by orjson
        # where it writes the same bytes (graphql/json_encoding.py). Text, not bytes:
        # strawberry sends bytes over a WebSocket as binary frames.
        return encode_answer_text(data)

    def decode_json(self, data: str | bytes) -> object:
        # Bytes in no Unicode encoding, or nesting deeper than the parser's recursion
        # limit, are malformed JSON like any other (400), not a server error.
        try:
            return json.loads(data)
        except (UnicodeDecodeError, RecursionError) as exc:
            raise json.JSONDecodeError(f"Invalid JSON: {type(exc).__name__}", "", 0) from exc

    async def render_graphql_ide(self, request: Request) -> Response:
        assert self.ide is not None  # strawberry calls it only when graphql_ide is set
        return self.ide.render(request)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET with a persisted query's hash and no text is a query, not a visit.
        # (The parent's checks first: it looks at the method before any query parameter.)
        return super().should_render_graphql_ide(request) and (
            "extensions" not in request.query_params
        )

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData):
            # Persisted queries (persisted_queries/service.py): the text a hash names, or
            # a refusal, before anything is parsed.
            try:
                resolved = await self.persisted.resolve(data.query, data.extensions)
            except AppError as exc:
                raise DocumentRefused(exc) from exc
            data.query = resolved.document
            if resolved.store_as is not None and isinstance(request, UploadRequestAdapter):
                request.starlette_request.state.persist_after = (
                    resolved.store_as,
                    resolved.document,
                )
        return data

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        try:
            return await super().parse_multipart(request)
        except (IndexError, TypeError, ValueError, AttributeError) as exc:
            # A map or operations field of the wrong shape is the client's error, not a 500.
            raise HTTPException(400, "Invalid multipart request") from exc

    async def execute_operation(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        # Bounds the execution only (not the upload the body may carry); on expiry the
        # resolvers are cancelled and the operation's gate releases its session.
        try:
            async with asyncio.timeout(self.services.settings.operation_timeout_seconds):
                return await super().execute_operation(*args, **kwargs)
        except TimeoutError:
            log.warning("operation timed out")
            return ExecutionResult(data=None, errors=[OperationTimedOut().as_graphql_error()])

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        if isinstance(request, WebSocket):
            # Browsers cannot set headers on a WebSocket: credentials come with
            # connection_init and are checked in on_ws_connect.
            identity = Identity()
        else:
            identity = await self._identify(
                request.headers.get("authorization"),
                request.headers.get("x-profile-id"),
                current_operation(),
            )
            request.state.identity = identity
            if is_multipart(request):
                # Uploads only ever go into a profile: without one, refuse before the body
                # is read (an anonymous client cannot make us spool gigabytes).
                try:
                    identity.require_profile()
                    await cap_body_to_quota(request, self.services.settings, FORM_OVERHEAD_BYTES)
                except AppError as exc:
                    raise UploadRefused(exc) from exc
        return Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            services=self.services,
            identity=identity,
        )

    async def _identify(
        self,
        authorization: str | None,
        profile_header: str | None,
        operation: OperationDatabase | None = None,
    ) -> Identity:
        identity = await self.identities.resolve(authorization, profile_header, operation)
        if identity.principal is not None:
            bind_context(user_id=str(identity.principal.user_id))
        if identity.profile is not None:
            bind_context(profile_id=str(identity.profile.profile_id))
        return identity

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        headers = {str(k).lower(): v for k, v in params.items() if isinstance(v, str)}
        identity = await self._identify(headers.get("authorization"), headers.get("x-profile-id"))
        if identity.principal is None:
            # Closes the socket with 4403; no operation runs without a verified token.
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.identity = identity
        return UnsetType()  # the default connection_ack

    async def process_result(
        self, request: Request | WebSocket, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        # Errors raised outside the operation hooks still get a code and are masked.
        if result.errors:
            result.errors = [shape_error(e) for e in result.errors]
            count_errors([str((e.extensions or {}).get("code")) for e in result.errors])
        pending = getattr(request.state, "persist_after", None)
        if pending is not None and result.data is not None:
            await self.persisted.store(*pending)  # it ran: worth keeping by its hash
        return await super().process_result(request, result)  # type: ignore[arg-type]
