"""Run a fake provider (an ASGI app) on 127.0.0.1 for the length of a test.

The fakes speak the providers' real protocols over real sockets, so the code under test
runs unchanged: only its base URL (a setting) points here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp


@dataclass(frozen=True)
class RunningServer:
    host: str
    port: int
    scheme: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


@contextlib.asynccontextmanager
async def serve_app(
    app: ASGIApp, *, ssl_certfile: Path | None = None, ssl_keyfile: Path | None = None
) -> AsyncIterator[RunningServer]:
    """Serve ``app`` in this event loop on a free port; stop it on exit."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        access_log=False,
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
        ws="websockets-sansio",
    )
    server = uvicorn.Server(config)
    # Not uvicorn's signal handling: this runs inside the test process.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
                raise RuntimeError("fake server stopped before it started")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield RunningServer("127.0.0.1", port, "https" if ssl_certfile else "http")
    finally:
        server.should_exit = True
        await task
