"""A fake Gemini API (``generativelanguage.googleapis.com``) for the calls EditAI makes.

Speaks the real protocol and checks what Google checks:

* the key in ``x-goog-api-key``: none -> 403 PERMISSION_DENIED; unknown -> 400
  INVALID_ARGUMENT with ``details[].reason = API_KEY_INVALID`` (what Google answers, not
  401); a key listed in ``suspended_keys`` -> 403 whose message quotes the key (as
  Google's "Consumer 'api_key:...' has been suspended" does: the client must scrub it);
* Files API resumable upload: ``POST /upload/v1beta/files`` with
  ``X-Goog-Upload-Protocol: resumable``, ``X-Goog-Upload-Command: start``, the announced
  ``X-Goog-Upload-Header-Content-Length``/``-Content-Type`` and a JSON ``{"file": {...}}``
  -> ``X-Goog-Upload-URL``; then the bytes to that URL with ``upload, finalize``,
  ``X-Goog-Upload-Offset: 0`` and a ``Content-Length`` equal to the announced length;
  the bytes must be an MP4 (``ftyp`` box) and are kept for the test to ffprobe;
* ``GET /v1beta/files/{id}``: PROCESSING for the first ``polls_until_active`` polls, then
  ACTIVE (or FAILED when told); ``DELETE`` removes it;
* ``POST /v1beta/models/{model}:generateContent``: the model must exist, the request must
  reference an ACTIVE uploaded file by URI and ask for JSON (``responseMimeType`` +
  ``responseSchema``); the answer is programmable (highlights, raw text, finish reason,
  whole body) with ``usageMetadata`` token counts;
* ``GET /v1beta/models/{model}`` (the status check); its calls are counted.

Any call kind can be told to answer 429 with ``Retry-After`` (or another error status)
for its next N calls. Every request is recorded (kind, key header, whether a key
appeared in the URL, headers).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MODEL = "gemini-2.5-flash"


@dataclass
class Recorded:
    kind: str  # upload_start | upload_bytes | get_file | delete_file | generate | get_model
    method: str
    path: str
    api_key: str | None
    key_in_url: bool
    status: int
    headers: dict[str, str]
    body: Any = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class StoredFile:
    id: str
    display_name: str | None
    mime_type: str
    announced: int
    data: bytes = b""
    uploaded: bool = False
    polls: int = 0
    state: str = "PROCESSING"
    deleted: bool = False

    @property
    def name(self) -> str:
        return f"files/{self.id}"


def google_error(status: int, code: str, message: str, reason: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"code": status, "message": message, "status": code}
    if reason is not None:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ]
    return JSONResponse({"error": error}, status_code=status)


class FakeGemini:
    def __init__(
        self,
        keys: set[str] | None = None,
        *,
        suspended_keys: set[str] | None = None,
        models: set[str] | None = None,
        polls_until_active: int = 2,
    ) -> None:
        self.keys = set(keys or {"test-gemini-key"})
        self.suspended_keys = set(suspended_keys or ())
        self.models = set(models or {MODEL})
        self.polls_until_active = polls_until_active
        self.fail_processing: str | None = None  # message of a FAILED file state
        self.upload_url_base: str | None = None  # answer upload URLs on another origin
        self.requests: list[Recorded] = []
        self.files: dict[str, StoredFile] = {}
        self.sessions: dict[str, str] = {}  # upload_id -> file id
        self._rate_limits: dict[str, list[float]] = {}
        self._failures: dict[str, list[int]] = {}
        self.answer: dict[str, Any] = {}
        self.set_highlights([])
        self.app = Starlette(
            routes=[
                Route("/upload/v1beta/files", self.upload, methods=["POST"]),
                Route("/v1beta/files/{file_id}", self.file, methods=["GET", "DELETE"]),
                Route("/v1beta/models/{rest:path}", self.models_route, methods=["GET", "POST"]),
            ]
        )

    # --- programming --------------------------------------------------------------------
    def set_answer(self, body: dict[str, Any]) -> None:
        """The whole generateContent body to answer with."""
        self.answer = body

    def set_text(
        self,
        text: str,
        *,
        finish_reason: str = "STOP",
        prompt_tokens: int = 1000,
        output_tokens: int = 50,
        thoughts_tokens: int | None = None,
    ) -> None:
        usage: dict[str, Any] = {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": output_tokens,
            "totalTokenCount": prompt_tokens + output_tokens + (thoughts_tokens or 0),
            "promptTokensDetails": [{"modality": "VIDEO", "tokenCount": prompt_tokens}],
        }
        if thoughts_tokens is not None:
            usage["thoughtsTokenCount"] = thoughts_tokens
        self.answer = {
            "candidates": [
                {
                    "content": {"parts": [{"text": text}], "role": "model"},
                    "finishReason": finish_reason,
                    "index": 0,
                }
            ],
            "usageMetadata": usage,
            "modelVersion": MODEL,
            "responseId": uuid.uuid4().hex[:20],
        }

    def set_highlights(self, items: list[dict[str, Any]], **usage: Any) -> None:
        self.set_text(json.dumps(items), **usage)

    def rate_limit(self, kind: str, times: int = 1, retry_after: float = 0.1) -> None:
        """The next ``times`` calls of ``kind`` answer 429 with ``Retry-After``."""
        self._rate_limits.setdefault(kind, []).extend([retry_after] * times)

    def fail(self, kind: str, status: int = 500, times: int = 1) -> None:
        """The next ``times`` calls of ``kind`` answer ``status`` (a Google error body)."""
        self._failures.setdefault(kind, []).extend([status] * times)

    # --- inspection ---------------------------------------------------------------------
    def calls(self, kind: str) -> list[Recorded]:
        return [r for r in self.requests if r.kind == kind]

    def keys_seen(self) -> set[str | None]:
        return {r.api_key for r in self.requests if r.kind != "upload_bytes"}

    def uploaded(self) -> list[StoredFile]:
        return [f for f in self.files.values() if f.uploaded]

    # --- helpers ------------------------------------------------------------------------
    def _record(
        self, request: Request, kind: str, response: Response, body: Any = None
    ) -> Response:
        url = str(request.url)
        self.requests.append(
            Recorded(
                kind=kind,
                method=request.method,
                path=request.url.path,
                api_key=request.headers.get("x-goog-api-key"),
                key_in_url="key=" in request.url.query
                or any(k in url for k in self.keys | self.suspended_keys),
                status=response.status_code,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
            )
        )
        return response

    def _auth_error(self, request: Request) -> Response | None:
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if not key:
            return google_error(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to "
                "call this API.",
            )
        if key in self.suspended_keys:
            return google_error(
                403,
                "PERMISSION_DENIED",
                f"Permission denied: Consumer 'api_key:{key}' has been suspended.",
                "CONSUMER_SUSPENDED",
            )
        if key not in self.keys:
            return google_error(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                "API_KEY_INVALID",
            )
        return None

    def _limited(self, kind: str) -> Response | None:
        failures = self._failures.get(kind)
        if failures:
            status = failures.pop(0)
            return google_error(status, "INTERNAL", "An internal error has occurred.")
        waits = self._rate_limits.get(kind)
        if not waits:
            return None
        wait = waits.pop(0)
        response = google_error(
            429,
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
            "RATE_LIMIT_EXCEEDED",
        )
        response.headers["Retry-After"] = f"{wait:g}"
        return response

    def _file_json(self, stored: StoredFile, request: Request) -> dict[str, Any]:
        now = datetime.now(UTC)
        body: dict[str, Any] = {
            "name": stored.name,
            "displayName": stored.display_name,
            "mimeType": stored.mime_type,
            "sizeBytes": str(len(stored.data)),
            "createTime": now.isoformat().replace("+00:00", "Z"),
            "updateTime": now.isoformat().replace("+00:00", "Z"),
            "expirationTime": (now + timedelta(hours=48)).isoformat().replace("+00:00", "Z"),
            "sha256Hash": hashlib.sha256(stored.data).hexdigest(),
            "uri": f"{str(request.base_url).rstrip('/')}/v1beta/{stored.name}",
            "state": stored.state,
            "source": "UPLOADED",
        }
        if stored.state == "FAILED":
            body["error"] = {"code": 3, "message": self.fail_processing or "processing failed"}
        return body

    # --- endpoints ----------------------------------------------------------------------
    async def upload(self, request: Request) -> Response:
        upload_id = request.query_params.get("upload_id")
        if upload_id is None:
            return await self._upload_start(request)
        return await self._upload_bytes(request, upload_id)

    async def _upload_start(self, request: Request) -> Response:
        kind = "upload_start"
        raw = await request.body()
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        denied = self._auth_error(request) or self._limited(kind)
        if denied is not None:
            return self._record(request, kind, denied, body)
        h = request.headers
        problem = None
        if h.get("x-goog-upload-protocol") != "resumable":
            problem = "X-Goog-Upload-Protocol must be resumable"
        elif h.get("x-goog-upload-command") != "start":
            problem = "X-Goog-Upload-Command must be start"
        elif not (h.get("x-goog-upload-header-content-length") or "").isdigit():
            problem = "X-Goog-Upload-Header-Content-Length is required"
        elif not h.get("x-goog-upload-header-content-type"):
            problem = "X-Goog-Upload-Header-Content-Type is required"
        elif not isinstance(body, dict) or not isinstance(body.get("file"), dict):
            problem = "Invalid JSON payload: expected {file: {...}}"
        if problem is not None:
            return self._record(request, kind, google_error(400, "INVALID_ARGUMENT", problem), body)
        assert isinstance(body, dict)
        stored = StoredFile(
            id=uuid.uuid4().hex[:12],
            display_name=body["file"].get("display_name") or body["file"].get("displayName"),
            mime_type=h["x-goog-upload-header-content-type"],
            announced=int(h["x-goog-upload-header-content-length"]),
        )
        self.files[stored.id] = stored
        upload_id = uuid.uuid4().hex
        self.sessions[upload_id] = stored.id
        base = self.upload_url_base or str(request.base_url).rstrip("/")
        response = Response(
            status_code=200,
            headers={
                "X-Goog-Upload-URL": (
                    f"{base}/upload/v1beta/files?upload_id={upload_id}&upload_protocol=resumable"
                ),
                "X-Goog-Upload-Status": "active",
                "X-Goog-Upload-Chunk-Granularity": "8388608",
            },
        )
        return self._record(request, kind, response, body)

    async def _upload_bytes(self, request: Request, upload_id: str) -> Response:
        kind = "upload_bytes"
        data = await request.body()
        limited = self._limited(kind)
        if limited is not None:
            return self._record(request, kind, limited, len(data))
        file_id = self.sessions.get(upload_id)
        stored = self.files.get(file_id) if file_id else None
        h = request.headers
        commands = {c.strip() for c in (h.get("x-goog-upload-command") or "").split(",")}
        problem = None
        if stored is None or stored.uploaded:
            problem = "No active upload session"
        elif commands != {"upload", "finalize"}:
            problem = "X-Goog-Upload-Command must be 'upload, finalize'"
        elif h.get("x-goog-upload-offset") != "0":
            problem = "X-Goog-Upload-Offset must be 0 for a single-request upload"
        elif h.get("content-length") != str(stored.announced):
            problem = "Content-Length must match X-Goog-Upload-Header-Content-Length"
        elif len(data) != stored.announced:
            problem = "The uploaded size does not match the announced size"
        elif data[4:8] != b"ftyp":
            problem = "The uploaded bytes are not an MP4 file"
        if problem is not None:
            return self._record(
                request, kind, google_error(400, "INVALID_ARGUMENT", problem), len(data)
            )
        assert stored is not None
        stored.data = data
        stored.uploaded = True
        response = JSONResponse(
            {"file": self._file_json(stored, request)},
            headers={"X-Goog-Upload-Status": "final"},
        )
        return self._record(request, kind, response, len(data))

    async def file(self, request: Request) -> Response:
        kind = "get_file" if request.method == "GET" else "delete_file"
        denied = self._auth_error(request) or self._limited(kind)
        if denied is not None:
            return self._record(request, kind, denied)
        stored = self.files.get(request.path_params["file_id"])
        if stored is None or stored.deleted or not stored.uploaded:
            return self._record(
                request,
                kind,
                google_error(404, "NOT_FOUND", "Requested entity was not found."),
            )
        if kind == "delete_file":
            stored.deleted = True
            return self._record(request, kind, JSONResponse({}))
        stored.polls += 1
        if stored.state == "PROCESSING" and stored.polls >= self.polls_until_active:
            stored.state = "FAILED" if self.fail_processing else "ACTIVE"
        return self._record(request, kind, JSONResponse(self._file_json(stored, request)))

    async def models_route(self, request: Request) -> Response:
        rest: str = request.path_params["rest"]
        if request.method == "POST":
            model, _, method = rest.partition(":")
            if method != "generateContent":
                return self._record(request, "unknown", google_error(404, "NOT_FOUND", "Not found"))
            return await self._generate(request, model)
        return await self._get_model(request, rest)

    def _unknown_model(self, model: str) -> Response:
        return google_error(
            404,
            "NOT_FOUND",
            f"models/{model} is not found for API version v1beta, or is not supported "
            "for generateContent.",
        )

    async def _get_model(self, request: Request, model: str) -> Response:
        kind = "get_model"
        denied = self._auth_error(request) or self._limited(kind)
        if denied is not None:
            return self._record(request, kind, denied)
        if model not in self.models:
            return self._record(request, kind, self._unknown_model(model))
        return self._record(
            request,
            kind,
            JSONResponse(
                {
                    "name": f"models/{model}",
                    "baseModelId": model,
                    "version": "001",
                    "displayName": model.replace("-", " ").title(),
                    "inputTokenLimit": 1048576,
                    "outputTokenLimit": 65536,
                    "supportedGenerationMethods": ["generateContent", "countTokens"],
                }
            ),
        )

    def _referenced_file(self, body: dict[str, Any]) -> StoredFile | str:
        uris: list[str] = []
        texts: list[str] = []
        for content in body.get("contents") or []:
            for part in (content or {}).get("parts") or []:
                data = part.get("file_data") or part.get("fileData")
                if isinstance(data, dict):
                    uris.append(str(data.get("file_uri") or data.get("fileUri") or ""))
                if isinstance(part.get("text"), str):
                    texts.append(part["text"])
        if len(uris) != 1 or not texts:
            return "contents must hold one file_data part and a text part"
        file_id = uris[0].rsplit("/files/", 1)[-1]
        stored = self.files.get(file_id)
        if stored is None or stored.deleted or not uris[0].endswith(f"/v1beta/{stored.name}"):
            return f"File {uris[0]} does not exist or you do not have permission to access it."
        if stored.state != "ACTIVE":
            return f"The File {stored.id} is not in an ACTIVE state and usage is not allowed."
        return stored

    async def _generate(self, request: Request, model: str) -> Response:
        kind = "generate"
        try:
            body = await request.json()
        except ValueError:
            body = None
        denied = self._auth_error(request) or self._limited(kind)
        if denied is not None:
            return self._record(request, kind, denied, body)
        if model not in self.models:
            return self._record(request, kind, self._unknown_model(model), body)
        if not isinstance(body, dict):
            return self._record(
                request, kind, google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload")
            )
        referenced = self._referenced_file(body)
        if isinstance(referenced, str):
            status, code = (
                (400, "FAILED_PRECONDITION")
                if "ACTIVE" in referenced
                else (403, "PERMISSION_DENIED")
            )
            return self._record(request, kind, google_error(status, code, referenced), body)
        config = body.get("generationConfig") or {}
        if config.get("responseMimeType") != "application/json" or not isinstance(
            config.get("responseSchema"), dict
        ):
            return self._record(
                request,
                kind,
                google_error(400, "INVALID_ARGUMENT", "expected a JSON response schema"),
                body,
            )
        return self._record(request, kind, JSONResponse(self.answer), body)
