"""Starlette application factory and lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

import editai.db.models  # noqa: F401 - registers every mapper before the first query
from editai import __version__
from editai.auth.resolver import IdentityResolver
from editai.auth.tokens import TokenVerifier
from editai.db import migrate
from editai.db.engine import create_engine
from editai.graphiql.page import GraphiQLPage
from editai.graphql.health import database_ok
from editai.graphql.schema import build_schema
from editai.graphql.view import EditAIGraphQL
from editai.http_errors import http_error_as_json
from editai.jobs.worker import Worker
from editai.logging import configure_logging, get_logger
from editai.media.downloads import media_endpoint
from editai.metrics import watch_loop_lag
from editai.metrics_endpoint import metrics_endpoint
from editai.middleware import RequestContextMiddleware
from editai.process_tuning import freeze_startup_objects
from editai.runtime import Runtime
from editai.settings import Settings, get_settings

log = get_logger(__name__)


def create_app(settings: Settings | None = None, engine: AsyncEngine | None = None) -> Starlette:
    """Build the app. ``engine`` lets tests share one engine; otherwise one is created."""
    settings = settings or get_settings()
    settings.check_startup()
    settings.ensure_dev_jwt_secret()
    owns_engine = engine is None
    runtime = Runtime(settings, engine or create_engine(settings))
    verifier = TokenVerifier(settings)
    # Off (production's default): neither the page nor any of its files has a route.
    graphiql = GraphiQLPage.load() if settings.graphiql else None
    graphql = EditAIGraphQL(
        build_schema(settings),
        services=runtime,
        identities=IdentityResolver(settings, runtime.sessions, verifier),
        ide=graphiql,
        # Queries (never mutations: strawberry refuses them) may come by GET, as Apollo's
        # persisted-query link sends hashes; answered "private, no-store" (graphql/view.py).
        allow_queries_via_get=True,
    )

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    async def ready(_: Request) -> JSONResponse:
        ok = await database_ok(runtime.sessions)
        return JSONResponse({"database": ok}, status_code=200 if ok else 503)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        settings.media_dir.mkdir(parents=True, exist_ok=True)
        settings.temp_root.mkdir(parents=True, exist_ok=True)
        runtime.storage.upload_temp_dir().mkdir(parents=True, exist_ok=True)
        # A server killed mid-upload left its spool file behind. Only files older than the
        # orphan sweeper's grace go: another server sharing this temp dir may be mid-upload.
        spool = await runtime.storage.remove_stale_upload_spool(settings.media_orphan_grace_seconds)
        if spool:
            log.info("removed upload spool files of dead requests", count=len(spool))
        # Wrong credentials or no bucket: a clear error, and the server does not start.
        await runtime.storage.store.start()
        if settings.auto_migrate_on_start:
            await migrate.upgrade(runtime.engine)
        await runtime.events.start()
        lag = asyncio.create_task(watch_loop_lag("server"))
        worker = Worker(runtime) if settings.embedded_worker else None
        if worker is not None:
            await worker.start()
        app.state.worker = worker
        log.info(
            "editai started",
            env=settings.env.value,
            database=runtime.engine.dialect.name,
            embedded_worker=worker is not None,
        )
        try:
            yield
        finally:
            lag.cancel()
            if worker is not None:
                await worker.stop()
            await runtime.events.stop()
            await runtime.storage.store.close()
            if owns_engine:
                await runtime.engine.dispose()

    app = Starlette(
        routes=[
            Route("/health", health),
            Route("/ready", ready),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            *(graphiql.routes() if graphiql is not None else []),
            # Local storage only: S3 downloads are presigned URLs served by the store.
            *(
                [Route("/media/{path:path}", media_endpoint(local), methods=["GET", "HEAD"])]
                if (local := runtime.storage.local) is not None
                else []
            ),
            # Off in production unless enabled or protected by a token: no route at all.
            *([Route("/metrics", metrics_endpoint(runtime))] if settings.metrics else []),
        ],
        middleware=[Middleware(RequestContextMiddleware)],
        exception_handlers={HTTPException: http_error_as_json},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.engine = runtime.engine
    app.state.sessions = runtime.sessions
    return app


def configured_app() -> Starlette:
    """Entry point for ``uvicorn editai.app:configured_app --factory``."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.logs_as_json)
    app = create_app(settings)
    freeze_startup_objects()  # one server process per call (uvicorn's workers)
    return app
