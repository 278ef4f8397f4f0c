"""A fake Postiz public API (``/public/v1`` or self-hosted ``/api/public/v1``).

Speaks the real protocol: the raw API key in ``Authorization`` (401 otherwise, also for
"Bearer <key>"), ``GET /integrations``, ``POST /upload`` (multipart field ``file``; the
bytes are kept so a test can ffprobe them), ``POST /posts`` (validated like Postiz's
DTO: type, ISO date, known and enabled integrations, ``settings.__type`` matching the
channel, images from its own uploads). It can answer 429 with ``Retry-After`` for the next
N calls of a path, 500 once on the Nth ``POST /posts``, and records every request.
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

POST_TYPES = {"now", "schedule", "draft"}


@dataclass
class Recorded:
    method: str
    path: str  # relative to the API base: /integrations, /upload, /posts
    authorization: str | None
    status: int
    content_length: str | None = None
    transfer_encoding: str | None = None
    body: Any = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class StoredUpload:
    id: str
    name: str
    path: str
    content_type: str | None
    data: bytes


@dataclass
class CreatedPost:
    id: str
    group: int  # one POST /posts call
    type: str
    date: str
    integration_id: str
    content: str
    image_ids: list[str]


def default_channels() -> list[dict[str, Any]]:
    org = str(uuid.uuid4())
    return [
        _channel("x", "Brand on X", org),
        _channel("linkedin", "Brand on LinkedIn", org),
        _channel("youtube", "Old YouTube", org, disabled=True),
    ]


def _channel(identifier: str, name: str, customer: str, disabled: bool = False) -> dict[str, Any]:
    return {
        "id": f"int-{identifier}-{uuid.uuid4().hex[:10]}",
        "name": name,
        "identifier": identifier,
        "picture": f"https://cdn.example.test/{identifier}.png",
        "disabled": disabled,
        "profile": name.lower().replace(" ", "_"),
        "customer": {"id": customer, "name": "Brand"},
    }


@dataclass
class FakePostiz:
    api_key: str = field(default_factory=lambda: f"postiz-{uuid.uuid4().hex}")
    prefix: str = "/public/v1"
    channels: list[dict[str, Any]] = field(default_factory=default_channels)
    organization: str = field(default_factory=lambda: str(uuid.uuid4()))
    requests: list[Recorded] = field(default_factory=list)
    uploads: dict[str, StoredUpload] = field(default_factory=dict)
    posts: list[CreatedPost] = field(default_factory=list)
    # Programmable failures.
    rate_limited: dict[str, list[str]] = field(default_factory=dict)  # path -> Retry-After values
    fail_post_calls: set[int] = field(default_factory=set)  # Nth POST /posts (1-based) -> 500
    revoke_after: int | None = None  # the key stops working after this many requests
    post_calls: int = 0
    _groups: itertools.count[int] = field(default_factory=itertools.count)

    # --- what tests use -------------------------------------------------------------------
    def channel(self, identifier: str) -> dict[str, Any]:
        return next(c for c in self.channels if c["identifier"] == identifier)

    def rate_limit(self, path: str, *retry_after: str) -> None:
        """The next len(retry_after) calls of ``path`` answer 429 with these Retry-After."""
        self.rate_limited.setdefault(path, []).extend(retry_after)

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def app(self) -> Starlette:
        routes = [
            Route("/integrations", self._integrations, methods=["GET"]),
            Route("/upload", self._upload, methods=["POST"]),
            Route("/posts", self._create_posts, methods=["POST"]),
        ]
        return Starlette(routes=[Mount(self.prefix, routes=routes)])

    # --- endpoints ------------------------------------------------------------------------
    async def _gate(self, request: Request, path: str) -> Response | None:
        """Auth and programmed 429s, in Postiz's order (auth guard first)."""
        auth = request.headers.get("authorization")
        record = Recorded(
            request.method,
            path,
            auth,
            0,
            request.headers.get("content-length"),
            request.headers.get("transfer-encoding"),
        )
        self.requests.append(record)
        revoked = self.revoke_after is not None and len(self.requests) > self.revoke_after
        if auth != self.api_key or revoked:
            record.status = 401
            return JSONResponse({"msg": "Invalid API key"}, status_code=401)
        waits = self.rate_limited.get(path)
        if waits:
            record.status = 429
            return JSONResponse(
                {"message": "ThrottlerException: Too Many Requests"},
                status_code=429,
                headers={"Retry-After": waits.pop(0)},
            )
        record.status = 200
        return None

    def _refuse(self, path: str, message: str, status: int = 400) -> JSONResponse:
        self.requests[-1].status = status
        return JSONResponse(
            {"statusCode": status, "message": [message], "error": "Bad Request"},
            status_code=status,
        )

    async def _integrations(self, request: Request) -> Response:
        refused = await self._gate(request, "/integrations")
        if refused is not None:
            return refused
        return JSONResponse(self.channels)

    async def _upload(self, request: Request) -> Response:
        refused = await self._gate(request, "/upload")
        if refused is not None:
            return refused
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            return self._refuse("/upload", "Expected multipart/form-data")
        form = await request.form()
        file = form.get("file")
        if not isinstance(file, UploadFile):
            return self._refuse("/upload", "No file")
        data = await file.read()
        if not data:
            return self._refuse("/upload", "Empty file")
        upload_id = str(uuid.uuid4())
        name = f"{uuid.uuid4().hex}{_suffix(file.filename or '')}"
        stored = StoredUpload(
            upload_id,
            name,
            f"https://uploads.postiz.test/{name}",
            file.content_type,
            data,
        )
        self.uploads[upload_id] = stored
        return JSONResponse(
            {
                "id": upload_id,
                "name": name,
                "path": stored.path,
                "organization": self.organization,
                "createdAt": datetime.now(UTC).isoformat(),
            },
            status_code=201,
        )

    async def _create_posts(self, request: Request) -> Response:
        refused = await self._gate(request, "/posts")
        if refused is not None:
            return refused
        self.post_calls += 1
        try:
            body = await request.json()
        except ValueError:
            return self._refuse("/posts", "Body must be JSON")
        self.requests[-1].body = body
        if self.post_calls in self.fail_post_calls:
            self.fail_post_calls.discard(self.post_calls)
            self.requests[-1].status = 500
            return JSONResponse({"message": "Internal server error"}, status_code=500)
        problem = self._check_posts(body)
        if problem:
            return self._refuse("/posts", problem)
        group = next(self._groups)
        created: list[dict[str, str]] = []
        for post in body["posts"]:
            value = post["value"][0]
            new = CreatedPost(
                id=str(uuid.uuid4()),
                group=group,
                type=body["type"],
                date=body["date"],
                integration_id=post["integration"]["id"],
                content=value["content"],
                image_ids=[image["id"] for image in value.get("image") or []],
            )
            self.posts.append(new)
            created.append({"postId": new.id, "integration": new.integration_id})
        return JSONResponse(created, status_code=201)

    def _check_posts(self, body: Any) -> str | None:
        if not isinstance(body, dict):
            return "Body must be an object"
        if body.get("type") not in POST_TYPES:
            return "type must be one of now, schedule, draft"
        try:
            date = datetime.fromisoformat(str(body.get("date")).replace("Z", "+00:00"))
        except ValueError:
            return "date must be a valid ISO 8601 date string"
        if date.tzinfo is None:
            return "date must carry a time zone"
        if not isinstance(body.get("shortLink"), bool):
            return "shortLink must be a boolean value"
        if not isinstance(body.get("tags"), list):
            return "tags must be an array"
        posts = body.get("posts")
        if not isinstance(posts, list) or not posts:
            return "posts must contain at least 1 elements"
        channels = {c["id"]: c for c in self.channels}
        for post in posts:
            integration = (post.get("integration") or {}).get("id")
            channel = channels.get(integration)
            if channel is None:
                return f"Integration {integration} not found"
            if channel["disabled"]:
                return f"Integration {integration} is disabled"
            if (post.get("settings") or {}).get("__type") != channel["identifier"]:
                return "settings.__type must match the integration's provider"
            values = post.get("value")
            if not isinstance(values, list) or not values:
                return "value must contain at least 1 elements"
            for value in values:
                if not isinstance(value.get("content"), str) or not value["content"]:
                    return "content should not be empty"
                for image in value.get("image") or []:
                    stored = self.uploads.get(image.get("id"))
                    if stored is None or image.get("path") != stored.path:
                        return "image must be a media of this organization"
        return None


def _suffix(filename: str) -> str:
    return filename[filename.rfind(".") :] if "." in filename else ""
