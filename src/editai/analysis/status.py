"""Whether the server's global Gemini key works, checked cheaply and cached briefly.

The check is ``GET /v1beta/models/{model}`` with the key (no tokens spent). One result
is kept per process for ``gemini_status_cache_seconds``, failures included (a bad key
must not turn every status query into a call to Google); callers arriving while a check
runs wait for that same check. The key itself never leaves this module: errors are the
provider client's scrubbed messages.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from editai.analysis.gemini import GeminiClient
from editai.integrations.errors import ProviderError
from editai.logging import get_logger
from editai.settings import Settings

log = get_logger(__name__)

# A status query must answer fast: no waiting out rate limits, a short timeout.
STATUS_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class GeminiStatusResult:
    configured: bool
    ok: bool
    model: str
    error: str | None = None
    checked_at: datetime | None = None


class GeminiStatusChecker:
    """Process-wide (one per :class:`~editai.runtime.Runtime`); holds no tenant data."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._result: GeminiStatusResult | None = None
        self._expires = 0.0
        self._running: asyncio.Task[GeminiStatusResult] | None = None

    def _key(self) -> str | None:
        key = self.settings.gemini_api_key
        return key.get_secret_value() if key is not None and key.get_secret_value() else None

    async def status(self) -> GeminiStatusResult:
        key = self._key()
        if key is None:
            return GeminiStatusResult(configured=False, ok=False, model=self.settings.gemini_model)
        if self._result is not None and time.monotonic() < self._expires:
            return self._result
        if self._running is None:
            self._running = asyncio.create_task(self._check(key), name="gemini-status-check")
            self._running.add_done_callback(self._store)
        # Shielded: one caller going away must not cancel the check the others wait for.
        return await asyncio.shield(self._running)

    def _store(self, task: asyncio.Task[GeminiStatusResult]) -> None:
        self._running = None
        if not task.cancelled() and task.exception() is None:
            self._result = task.result()
            self._expires = time.monotonic() + self.settings.gemini_status_cache_seconds

    async def _check(self, key: str) -> GeminiStatusResult:
        quick = self.settings.model_copy(update={"provider_max_retries": 0})
        timeout = min(STATUS_TIMEOUT_SECONDS, self.settings.provider_timeout_seconds)
        model = self.settings.gemini_model
        error: str | None = None
        try:
            async with GeminiClient(quick, key, timeout=timeout) as gemini:
                await gemini.get_model(model)
        except ProviderError as exc:
            error = exc.message
        except ValueError as exc:  # a malformed model name in the settings
            error = str(exc)
        if error is not None:
            log.warning("gemini status check failed", reason=error)
        return GeminiStatusResult(
            configured=True,
            ok=error is None,
            model=model,
            error=error,
            checked_at=datetime.now(UTC),
        )
