"""The HTTP client every provider uses: timeouts, 429 handling, safe error messages.

* 429: waits for the time the server asks (``Retry-After``: seconds or an HTTP date;
  exponential backoff when absent), at most ``provider_max_retry_wait_seconds`` per wait
  and ``provider_max_retries`` times, then :class:`ProviderRateLimited`.
* 401/403: :class:`ProviderAuthError` (not retried: the key is wrong).
* Other 4xx: :class:`ProviderRequestError` with the provider's own short message.
* 5xx, timeouts, connection errors: :class:`ProviderUnavailable` (the job may retry).

Secrets given to the client are scrubbed from every message it builds, and httpx's own
request logging is kept below INFO (see ``editai.logging``), so keys never reach a log.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx

from editai.integrations.errors import (
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    ProviderRequestError,
    ProviderUnavailable,
)
from editai.logging import get_logger
from editai.settings import Settings

log = get_logger(__name__)

# A call made while a client waits for its GraphQL answer (not in a job) must not hang:
# at most one retry after a short Retry-After, and a shorter timeout.
REQUEST_MAX_RETRIES = 1
REQUEST_MAX_RETRY_WAIT_SECONDS = 5.0
REQUEST_TIMEOUT_SECONDS = 15.0

# A body to send, or a factory making a fresh one per attempt (a stream cannot be replayed).
Body = bytes | str | Callable[[], AsyncIterable[bytes]]
MAX_DETAIL_CHARS = 300


def retry_after_seconds(response: httpx.Response, now: float | None = None) -> float | None:
    """The wait a 429/503 asks for: ``Retry-After`` as seconds or as an HTTP date."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (now if now is not None else time.time()), 0.0)


def request_time_settings(settings: Settings) -> Settings:
    """``settings`` with the retry and timeout limits of a call made inside a request."""
    return settings.model_copy(
        update={
            "provider_max_retries": min(settings.provider_max_retries, REQUEST_MAX_RETRIES),
            "provider_max_retry_wait_seconds": min(
                settings.provider_max_retry_wait_seconds, REQUEST_MAX_RETRY_WAIT_SECONDS
            ),
            "provider_timeout_seconds": min(
                settings.provider_timeout_seconds, REQUEST_TIMEOUT_SECONDS
            ),
        }
    )


def unsendable_key(provider: str) -> ProviderAuthError:
    return ProviderAuthError(
        provider, f"the {provider} API key holds characters HTTP cannot carry: set it again"
    )


class ProviderClient:
    """One provider's base URL, auth headers and retry policy around an httpx client."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        settings: Settings,
        *,
        headers: Mapping[str, str] | None = None,
        secrets: Iterable[str | None] = (),
        timeout: float | None = None,
    ) -> None:
        self.provider = provider
        self.settings = settings
        self._secrets = [s for s in secrets if s]
        sent = dict(headers or {})
        # A key stored before keys were checked on input (profiles/service.py) may hold
        # what a header cannot carry (non-ASCII): every call then refuses, as with a wrong
        # key, inside the caller's usual error handling (not a crash building the client).
        self._refusal: ProviderAuthError | None = None
        if not all(value.isascii() for value in sent.values()):
            sent = {name: value for name, value in sent.items() if value.isascii()}
            self._refusal = unsendable_key(provider)
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=sent,
            timeout=httpx.Timeout(timeout or settings.provider_timeout_seconds),
            follow_redirects=False,
        )

    async def __aenter__(self) -> ProviderClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    async def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        content: Body | None = None,
        files: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        stream_to: Path | None = None,
    ) -> httpx.Response:
        """Send, honouring 429s; returns a 2xx response or raises a ProviderError.

        With ``stream_to``, a 2xx body is written to that file as it arrives (never held
        in memory whole) and the returned response has no body; an error body is read.
        """
        if self._refusal is None and headers and not all(v.isascii() for v in headers.values()):
            self._refusal = unsendable_key(self.provider)
        if self._refusal is not None:
            raise self._refusal
        attempts = self.settings.provider_max_retries + 1
        for attempt in range(1, attempts + 1):
            body = content() if callable(content) else content
            try:
                sent = self._client.build_request(
                    method,
                    url,
                    json=json_body,
                    content=body,
                    files=files,
                    params=params,
                    headers=headers,
                )
                response = await self._client.send(sent, stream=stream_to is not None)
                if stream_to is not None:
                    await _save_or_read(response, stream_to)
            except httpx.TimeoutException as exc:
                raise ProviderUnavailable(
                    self.provider, f"{self.provider} did not answer in time"
                ) from exc
            except httpx.HTTPError as exc:
                raise ProviderUnavailable(
                    self.provider,
                    f"{self.provider} could not be reached ({type(exc).__name__})",
                ) from exc
            if response.status_code != 429:
                return self.check_response(response)
            wait = retry_after_seconds(response)
            if wait is None:
                wait = min(2.0 ** (attempt - 1), self.settings.provider_max_retry_wait_seconds)
            if attempt == attempts or wait > self.settings.provider_max_retry_wait_seconds:
                raise ProviderRateLimited(
                    self.provider,
                    f"{self.provider} is rate-limiting this key (asked to wait {wait:.0f} s)",
                    status=429,
                )
            log.info(
                "provider rate limit: waiting",
                provider=self.provider,
                seconds=round(wait, 3),
                attempt=attempt,
            )
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    def check_response(self, response: httpx.Response) -> httpx.Response:
        """A non-429 answer, or the ProviderError it means. Providers whose API reports a
        bad key some other way (Gemini: 400 API_KEY_INVALID) extend this."""
        status = response.status_code
        if status < 400:
            return response
        detail = self.scrub(_detail(response))
        suffix = f": {detail}" if detail else ""
        error: type[ProviderError]
        if status in (401, 403):
            error, what = ProviderAuthError, "rejected the API key"
        elif status >= 500:
            error, what = ProviderUnavailable, "failed"
        else:
            error, what = ProviderRequestError, "refused the request"
        raise error(self.provider, f"{self.provider} {what} (HTTP {status}){suffix}", status=status)


async def _save_or_read(response: httpx.Response, target: Path) -> None:
    """A 2xx body goes to ``target`` chunk by chunk (off the event loop); others are read."""
    try:
        if response.is_success:
            out = await asyncio.to_thread(target.open, "wb")
            try:
                async for chunk in response.aiter_bytes():
                    await asyncio.to_thread(out.write, chunk)
            finally:
                await asyncio.to_thread(out.close)
        else:
            await response.aread()
    finally:
        await response.aclose()


def _detail(response: httpx.Response) -> str:
    """The provider's own short error message, if its body carries one."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        text = (
            response.text.strip()
            if response.headers.get("content-type", "").startswith("text/")
            else ""
        )
        return text[:MAX_DETAIL_CHARS]
    message = _find_message(body)
    return message[:MAX_DETAIL_CHARS] if message else ""


def _find_message(body: Any) -> str | None:
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        for key in ("message", "detail", "error", "msg"):
            if key in body:
                found = _find_message(body[key])
                if found:
                    return found
    if isinstance(body, list) and body:
        return _find_message(body[0])
    return None
