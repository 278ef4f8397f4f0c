"""Postiz public API client: list channels, upload a media file, create posts.

The configured URL is the API base (``https://api.postiz.com/public/v1``, self-hosted
``https://host/api/public/v1``); the key goes raw in ``Authorization`` (no "Bearer").
Every call goes through :class:`ProviderClient` (429 waits, safe errors).
"""

from __future__ import annotations

import asyncio
import mimetypes
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from editai.integrations.errors import ProviderResponseError
from editai.integrations.http import ProviderClient
from editai.settings import Settings

PROVIDER = "Postiz"
CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class PostizChannel:
    """A Postiz integration: one connected social account."""

    id: str
    name: str
    provider: str  # Postiz's "identifier": x, linkedin, youtube, ...
    picture: str | None
    disabled: bool


@dataclass(frozen=True, slots=True)
class PostizMedia:
    id: str
    path: str

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "path": self.path}


@dataclass(frozen=True, slots=True)
class ChannelPost:
    """One channel of a ``POST /posts`` call: where, and as which provider's settings."""

    integration_id: str
    provider: str


class PostizClient:
    def __init__(
        self, base_url: str, api_key: str, settings: Settings, *, timeout: float | None = None
    ) -> None:
        self._http = ProviderClient(
            PROVIDER,
            base_url,
            settings,
            headers={"Authorization": api_key, "Accept": "application/json"},
            secrets=[api_key],
            timeout=timeout,
        )

    async def __aenter__(self) -> PostizClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def integrations(self) -> list[PostizChannel]:
        body = _json(await self._http.request("GET", "/integrations"))
        if not isinstance(body, list):
            raise _shape_error("the channel list")
        return [_channel(item) for item in body]

    async def upload(self, path: Path, filename: str) -> PostizMedia:
        """``POST /upload`` as multipart form field ``file``, streamed from disk."""
        form = MultipartFile(path, filename)
        size = await asyncio.to_thread(lambda: path.stat().st_size)
        response = await self._http.request(
            "POST",
            "/upload",
            content=form.stream,  # a fresh stream per attempt (a 429 re-sends it)
            headers={"Content-Type": form.content_type, "Content-Length": str(form.length(size))},
        )
        body = _json(response)
        if not isinstance(body, dict) or not body.get("id") or not body.get("path"):
            raise _shape_error("the upload")
        return PostizMedia(id=str(body["id"]), path=str(body["path"]))

    async def create_posts(
        self,
        *,
        post_type: str,
        date: datetime,
        content: str,
        media: PostizMedia,
        channels: list[ChannelPost],
    ) -> dict[str, str]:
        """One ``POST /posts`` for several channels; returns integration id -> post id."""
        body = {
            "type": post_type,
            "date": iso_utc(date),
            "shortLink": False,
            "tags": [],
            "posts": [
                {
                    "integration": {"id": channel.integration_id},
                    "value": [{"content": content, "image": [media.as_json()]}],
                    "settings": {"__type": channel.provider},
                }
                for channel in channels
            ],
        }
        answer = _json(await self._http.request("POST", "/posts", json_body=body))
        if not isinstance(answer, list):
            raise _shape_error("the new posts")
        posted: dict[str, str] = {}
        for item in answer:
            if not isinstance(item, dict) or not item.get("postId"):
                raise _shape_error("the new posts")
            integration = item.get("integration")
            if isinstance(integration, dict):  # tolerate {"id": ...} as well as a bare id
                integration = integration.get("id")
            if integration:
                posted[str(integration)] = str(item["postId"])
        return posted


class MultipartFile:
    """A ``multipart/form-data`` body with one file field, read from disk chunk by chunk
    in a thread (never whole into memory, never blocking the loop)."""

    field = "file"

    def __init__(self, path: Path, filename: str) -> None:
        self.path = path
        self.boundary = f"editai-{uuid.uuid4().hex}"
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        safe_name = filename.replace('"', "").replace("\r", "").replace("\n", "")
        self._head = (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{self.field}"; filename="{safe_name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def length(self, file_size: int) -> int:
        return len(self._head) + file_size + len(self._tail)

    async def stream(self) -> AsyncIterator[bytes]:
        yield self._head
        handle = await asyncio.to_thread(self.path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)
        yield self._tail


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and ``Z``, as Postiz writes its own dates."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise _shape_error("its answer") from exc


def _shape_error(what: str) -> ProviderResponseError:
    return ProviderResponseError(PROVIDER, f"{PROVIDER} sent an unexpected answer for {what}")


def _channel(item: Any) -> PostizChannel:
    if not isinstance(item, dict) or not item.get("id"):
        raise _shape_error("the channel list")
    picture = item.get("picture")
    return PostizChannel(
        id=str(item["id"]),
        name=str(item.get("name") or ""),
        provider=str(item.get("identifier") or item.get("providerIdentifier") or ""),
        picture=str(picture) if picture else None,
        disabled=bool(item.get("disabled")),
    )
