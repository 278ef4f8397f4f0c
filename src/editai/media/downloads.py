"""Downloads: signed, expiring media URLs, and the ``GET /media/{path}`` route serving
them when media is on local disk.

The URL itself is the authorization (made for a request of the owning profile), so
players and ``<video>`` tags can fetch it without headers. Local storage: HMAC over path
and expiry, Range answered by Starlette's FileResponse (206, 416, ``Accept-Ranges``).
S3: a presigned GET, checked, expired and Range-served by the store itself.
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from editai.media.storage import LocalStore, StoragePathError
from editai.runtime import Runtime

# When the current request started: every URL it signs counts its TTL from then, so one
# file gets one URL throughout an answer (two fields naming it used to differ when a
# second ticked between them, which defeats client caches keyed by URL).
_signed_from: ContextVar[float | None] = ContextVar("editai_signed_from", default=None)
# The URLs this request signed: a presigned S3 URL carries its signing time, so it is
# made once per key and request, like the local ones.
_signed: ContextVar[dict[str, str] | None] = ContextVar("editai_signed", default=None)


@contextmanager
def one_expiry_per_request() -> Iterator[None]:
    token = _signed_from.set(time.time())
    urls = _signed.set({})
    try:
        yield
    finally:
        _signed.reset(urls)
        _signed_from.reset(token)


def download_url(runtime: Runtime, relative: str | None, filename: str | None = None) -> str | None:
    """A URL (relative to the server) for a stored file, valid for the configured TTL."""
    if not relative:
        return None
    signed = _signed.get()
    if signed is not None and relative in signed:
        return signed[relative]
    url = runtime.storage.download_url(
        relative, runtime.settings.media_url_ttl_seconds, now=_signed_from.get(), filename=filename
    )
    if signed is not None:
        signed[relative] = url
    return url


def _regular_file(storage: LocalStore, relative: str) -> tuple[Path, os.stat_result] | None:
    try:
        path = storage.resolve(relative)  # follows symlinks; refuses anything outside the root
        info = path.stat()
    except (StoragePathError, OSError, ValueError):
        return None
    return (path, info) if stat.S_ISREG(info.st_mode) else None


def media_endpoint(storage: LocalStore) -> Callable[[Request], Awaitable[Response]]:
    async def serve_media(request: Request) -> Response:
        relative = request.path_params["path"]
        expires = request.query_params.get("exp", "")
        signature = request.query_params.get("sig", "")
        if not storage.verify(relative, expires, signature):
            return PlainTextResponse("Forbidden", status_code=403)
        found = await asyncio.to_thread(_regular_file, storage, relative)
        if found is None:
            return PlainTextResponse("Not Found", status_code=404)
        path, info = found
        # Private: the URL is a credential; no shared cache may keep the file past expiry.
        max_age = max(int(expires) - int(time.time()), 0)
        return FileResponse(
            path,
            stat_result=info,
            headers={"Cache-Control": f"private, max-age={max_age}"},
        )

    return serve_media
