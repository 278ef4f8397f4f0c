"""Errors of calls to external services. Their messages are safe to show a user.

A message names the provider and what went wrong ("ElevenLabs rejected the API key (HTTP
401)"); it never holds a key, a request header or a raw response body with secrets.
"""

from __future__ import annotations


class ProviderError(Exception):
    """A provider call failed. ``retryable``: trying again later may succeed."""

    retryable: bool = True

    def __init__(self, provider: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.message = message
        self.status = status


class ProviderAuthError(ProviderError):
    """The key is missing, wrong or revoked: retrying cannot help."""

    retryable = False


class ProviderRequestError(ProviderError):
    """The provider refused the request itself (4xx other than auth and rate limits)."""

    retryable = False


class ProviderRateLimited(ProviderError):
    """Still rate-limited after the allowed waits, or asked to wait longer than allowed."""


class ProviderUnavailable(ProviderError):
    """Unreachable, timed out, or answered 5xx."""


class ProviderResponseError(ProviderError):
    """The answer did not have the shape the protocol promises."""
