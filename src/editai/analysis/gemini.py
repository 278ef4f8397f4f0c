"""The Gemini API over HTTP: Files API resumable upload, file state, generateContent.

Protocol (``{base}`` is ``settings.gemini_base_url``; the key travels only in the
``x-goog-api-key`` header, never in a URL):

* ``POST {base}/upload/v1beta/files`` with ``X-Goog-Upload-Protocol: resumable``,
  ``X-Goog-Upload-Command: start`` and the length/type of the bytes to come; the answer's
  ``X-Goog-Upload-URL`` header is where the bytes go.
* ``POST <upload url>`` with ``X-Goog-Upload-Command: upload, finalize`` and
  ``X-Goog-Upload-Offset: 0``, the file streamed from disk -> ``{"file": {...}}``. The
  upload URL carries its own upload id, so the key is not sent there; it must point at
  the same origin as ``{base}`` (a server answer never sends our bytes elsewhere).
* ``GET {base}/v1beta/files/{id}`` until ``state`` is ``ACTIVE`` (``FAILED``: the file
  cannot be used); ``DELETE`` the same path when done.
* ``POST {base}/v1beta/models/{model}:generateContent``; ``GET {base}/v1beta/models/{model}``
  is the cheap call that tells whether a key works.

Errors are :mod:`editai.integrations.errors`; Google answers a malformed or unknown key
with HTTP 400 ``API_KEY_INVALID`` (not 401), which is mapped to ``ProviderAuthError`` here.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from editai.integrations.errors import (
    ProviderAuthError,
    ProviderResponseError,
    ProviderUnavailable,
)
from editai.integrations.http import ProviderClient
from editai.settings import Settings

PROVIDER = "Gemini"
UPLOAD_CHUNK_BYTES = 1024 * 1024
_FILE_NAME = re.compile(r"files/[A-Za-z0-9_-]{1,128}")
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

Progress = Callable[[float], Awaitable[None]]


class GeminiFileFailed(Exception):
    """Gemini could not process the uploaded file (state FAILED): a permanent failure."""


@dataclass(frozen=True, slots=True)
class GeminiFile:
    name: str  # "files/abc123"
    uri: str
    mime_type: str
    state: str  # PROCESSING | ACTIVE | FAILED
    error: str | None = None


def model_id(model: str) -> str:
    """``gemini-2.5-flash`` (a ``models/`` prefix is accepted); refuses path tricks."""
    name = model.removeprefix("models/")
    if not _MODEL_NAME.fullmatch(name):
        raise ValueError(f"not a Gemini model name: {model!r}")
    return name


def _error_reasons(response: httpx.Response) -> set[str]:
    """``reason`` values of a Google error body (``error.details[*].reason``)."""
    try:
        body = response.json()
    except ValueError:
        return set()
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, list):
        return set()
    return {str(d["reason"]) for d in details if isinstance(d, dict) and "reason" in d}


def _parse_file(body: Any) -> GeminiFile:
    if not isinstance(body, dict):
        raise ProviderResponseError(PROVIDER, "Gemini answered the file request without a file")
    name, uri, state = body.get("name"), body.get("uri"), body.get("state")
    if not isinstance(name, str) or not _FILE_NAME.fullmatch(name):
        raise ProviderResponseError(PROVIDER, "Gemini answered with an unusable file name")
    if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
        raise ProviderResponseError(PROVIDER, "Gemini answered without a file URI")
    error = body.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    return GeminiFile(
        name=name,
        uri=uri,
        mime_type=str(body.get("mimeType") or "video/mp4"),
        state=str(state or "STATE_UNSPECIFIED"),
        error=str(message)[:300] if message else None,
    )


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


class GeminiClient(ProviderClient):
    """One API key's calls. Use as ``async with GeminiClient(settings, key) as gemini``."""

    def __init__(self, settings: Settings, api_key: str, *, timeout: float | None = None) -> None:
        super().__init__(
            PROVIDER, settings.gemini_base_url, settings, secrets=[api_key], timeout=timeout
        )
        self._auth = {"x-goog-api-key": api_key}
        self._base = httpx.URL(settings.gemini_base_url.rstrip("/") + "/")

    async def __aenter__(self) -> GeminiClient:
        return self

    def check_response(self, response: httpx.Response) -> httpx.Response:
        if response.status_code == 400 and "API_KEY_INVALID" in _error_reasons(response):
            raise ProviderAuthError(
                PROVIDER, "Gemini rejected the API key (API_KEY_INVALID)", status=400
            )
        return super().check_response(response)

    # --- models ------------------------------------------------------------------------
    async def get_model(self, model: str) -> dict[str, Any]:
        response = await self.request(
            "GET", f"/v1beta/models/{model_id(model)}", headers=self._auth
        )
        try:
            body = response.json()
        except ValueError as exc:
            raise ProviderResponseError(PROVIDER, "Gemini's model answer was not JSON") from exc
        if not isinstance(body, dict):
            raise ProviderResponseError(PROVIDER, "Gemini answered the model request oddly")
        return body

    async def generate_content(self, model: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.request(
            "POST",
            f"/v1beta/models/{model_id(model)}:generateContent",
            json_body=body,
            headers=self._auth,
        )
        try:
            answer = response.json()
        except ValueError as exc:
            raise ProviderResponseError(PROVIDER, "Gemini's answer was not JSON") from exc
        if not isinstance(answer, dict):
            raise ProviderResponseError(PROVIDER, "Gemini's answer was not a JSON object")
        return answer

    # --- files -------------------------------------------------------------------------
    async def upload(
        self,
        path: Path,
        *,
        display_name: str,
        mime_type: str = "video/mp4",
        on_progress: Progress | None = None,
    ) -> GeminiFile:
        size = (await asyncio.to_thread(path.stat)).st_size
        start = await self.request(
            "POST",
            "/upload/v1beta/files",
            json_body={"file": {"display_name": display_name}},
            headers={
                **self._auth,
                "X-Goog-Upload-Protocol": "resumable",
                "X-Goog-Upload-Command": "start",
                "X-Goog-Upload-Header-Content-Length": str(size),
                "X-Goog-Upload-Header-Content-Type": mime_type,
            },
        )
        location = start.headers.get("x-goog-upload-url")
        if not location:
            raise ProviderResponseError(PROVIDER, "Gemini did not give an upload URL")
        upload_url = httpx.URL(location)
        if not _same_origin(upload_url, self._base):
            raise ProviderResponseError(PROVIDER, "Gemini's upload URL points at another host")
        done = await self.request(
            "POST",
            str(upload_url),
            content=lambda: _read_chunks(path, size, on_progress),
            headers={
                "Content-Length": str(size),
                "X-Goog-Upload-Offset": "0",
                "X-Goog-Upload-Command": "upload, finalize",
            },
        )
        try:
            body = done.json()
        except ValueError as exc:
            raise ProviderResponseError(PROVIDER, "Gemini's upload answer was not JSON") from exc
        return _parse_file(body.get("file") if isinstance(body, dict) else None)

    async def get_file(self, name: str) -> GeminiFile:
        if not _FILE_NAME.fullmatch(name):
            raise ValueError(f"not a Gemini file name: {name!r}")
        response = await self.request("GET", f"/v1beta/{name}", headers=self._auth)
        try:
            return _parse_file(response.json())
        except ValueError as exc:
            raise ProviderResponseError(PROVIDER, "Gemini's file answer was not JSON") from exc

    async def wait_active(
        self, file: GeminiFile, *, poll_seconds: float, limit_seconds: float
    ) -> GeminiFile:
        """Poll until the file is ACTIVE. FAILED: :class:`GeminiFileFailed`; too slow:
        a retryable provider error."""
        deadline = time.monotonic() + limit_seconds
        while True:
            if file.state == "ACTIVE":
                return file
            if file.state == "FAILED":
                reason = f": {file.error}" if file.error else ""
                raise GeminiFileFailed(f"Gemini could not process the video{reason}")
            if time.monotonic() + poll_seconds > deadline:
                raise ProviderUnavailable(
                    PROVIDER,
                    f"Gemini did not finish processing the video within {limit_seconds:g} s",
                )
            await asyncio.sleep(poll_seconds)
            file = await self.get_file(file.name)

    async def delete_file(self, name: str) -> None:
        if not _FILE_NAME.fullmatch(name):
            raise ValueError(f"not a Gemini file name: {name!r}")
        await self.request("DELETE", f"/v1beta/{name}", headers=self._auth)


async def _read_chunks(path: Path, size: int, on_progress: Progress | None) -> AsyncIterator[bytes]:
    """The file in 1 MiB chunks, read off the event loop; exactly ``size`` bytes."""
    handle: BinaryIO = await asyncio.to_thread(path.open, "rb")
    sent = 0
    try:
        while sent < size:
            chunk = await asyncio.to_thread(handle.read, min(UPLOAD_CHUNK_BYTES, size - sent))
            if not chunk:
                break
            sent += len(chunk)
            yield chunk
            if on_progress is not None:
                await on_progress(sent / size if size else 1.0)
    finally:
        await asyncio.to_thread(handle.close)
