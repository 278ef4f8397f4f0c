"""A GraphQL-over-HTTP client for the robustness tests: every answer kept as it came.

Unlike tests/api.py (ASGI in-process, answers assumed JSON), this one talks to a real
server over a socket and never assumes: a plain-text 500 or a closed socket is data the
tests assert on, not an exception that hides it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

# DESIGN §6: the only codes an error may carry.
KNOWN_CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "BAD_USER_INPUT",
        "CONFLICT",
        "INTERNAL_SERVER_ERROR",
    }
)


@dataclass
class Answer:
    status: int
    # The parsed body when it is a JSON object, else None (then ``text`` says what came).
    body: dict[str, Any] | None
    text: str
    seconds: float
    # A transport failure (refused, reset, timed out): no HTTP answer at all.
    transport_error: str | None = None

    @property
    def errors(self) -> list[dict[str, Any]]:
        if self.body is None:
            return []
        errors = self.body.get("errors") or []
        return [e for e in errors if isinstance(e, dict)]

    @property
    def data(self) -> Any:
        return None if self.body is None else self.body.get("data")

    @property
    def codes(self) -> list[str]:
        return [str((e.get("extensions") or {}).get("code", "")) for e in self.errors]

    def problems(self) -> list[str]:
        """What makes this answer a server failure, whatever was asked: a 5xx, no answer,
        not GraphQL JSON, an INTERNAL_SERVER_ERROR, an error without a documented code."""
        if self.transport_error is not None:
            return [f"no answer: {self.transport_error}"]
        found: list[str] = []
        if self.status >= 500:
            found.append(f"HTTP {self.status}")
        if self.body is None:
            found.append(f"not a JSON object: {self.text[:200]!r}")
            return found
        for error, code in zip(self.errors, self.codes, strict=True):
            if code == "INTERNAL_SERVER_ERROR":
                found.append(f"INTERNAL_SERVER_ERROR: {error.get('message')!r}")
            elif code not in KNOWN_CODES:
                found.append(f"error without a documented code: {error}")
        return found

    def short(self) -> str:
        if self.transport_error is not None:
            return f"no HTTP answer after {self.seconds:.2f} s: {self.transport_error}"
        return f"HTTP {self.status}: {self.text[:600]}"


def answer_from(response: httpx.Response, seconds: float) -> Answer:
    text = response.text
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    return Answer(response.status_code, body if isinstance(body, dict) else None, text, seconds)


async def post(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    # json.dumps's default ensure_ascii: a lone surrogate travels as "\ud800" (httpx's
    # own JSON encoding would refuse to send it).
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    started = time.perf_counter()
    try:
        response = await client.post("/graphql", content=body, headers=sent)
    except httpx.TransportError as exc:
        return Answer(0, None, "", time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    return answer_from(response, time.perf_counter() - started)


async def post_upload(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any],
    file_variable: str,
    file: tuple[str, bytes, str],
    headers: dict[str, str] | None = None,
) -> Answer:
    """A GraphQL multipart request (the spec's ``operations`` + ``map`` + one file)."""
    operations = {"query": query, "variables": {**variables, file_variable: None}}
    sent = {"Apollo-Require-Preflight": "true", **(headers or {})}
    started = time.perf_counter()
    try:
        response = await client.post(
            "/graphql",
            data={
                "operations": json.dumps(operations),
                "map": json.dumps({"0": [f"variables.{file_variable}"]}),
            },
            files={"0": file},
            headers=sent,
        )
    except httpx.TransportError as exc:
        return Answer(0, None, "", time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    return answer_from(response, time.perf_counter() - started)


def bearer(token: str, profile_id: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if profile_id is not None:
        headers["X-Profile-Id"] = profile_id
    return headers


def collect_ids(value: Any, into: set[str]) -> None:
    """Every ``id`` anywhere in an answer's data."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and isinstance(item, str):
                into.add(item)
            else:
                collect_ids(item, into)
    elif isinstance(value, list):
        for item in value:
            collect_ids(item, into)
