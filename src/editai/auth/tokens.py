"""JWT verification (PyJWT) for Supabase-style tokens: HS256 secret and/or JWKS keys."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from editai.auth.principal import Principal
from editai.errors import Unauthenticated
from editai.logging import get_logger
from editai.settings import Settings

log = get_logger(__name__)

_SYMMETRIC = {"HS256", "HS384", "HS512"}
_ASYMMETRIC = {"RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"}


class JWKSCache:
    """Fetches a JWKS document over HTTP (off the event loop's critical path) and caches it."""

    MIN_REFETCH_SECONDS = 10.0

    def __init__(self, url: str, ttl_seconds: int, client: httpx.AsyncClient | None = None) -> None:
        self.url = url
        self.ttl = ttl_seconds
        self._client = client
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()

    async def _fetch(self) -> None:
        client = self._client or httpx.AsyncClient(timeout=5.0)
        try:
            response = await client.get(self.url)
            response.raise_for_status()
            document = response.json()
        finally:
            if self._client is None:
                await client.aclose()
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ValueError("JWKS document has no 'keys' list")
        keys: dict[str, PyJWK] = {}
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                continue
            if entry.get("use", "sig") != "sig":
                continue
            try:
                keys[entry["kid"]] = PyJWK(entry)
            except jwt.PyJWTError as exc:
                log.warning("jwks key skipped", kid=entry.get("kid"), reason=str(exc))
        self._keys = keys
        self._fetched_at = time.monotonic()

    def _wants_fetch(self, kid: str) -> bool:
        now = time.monotonic()
        if now - self._attempted_at < self.MIN_REFETCH_SECONDS:
            # At most one attempt per interval, failed or not: a broken endpoint or a flood
            # of unknown kids must not turn every request into an outgoing fetch.
            return False
        # Stale, or an unknown kid that may be a rotated key.
        return now - self._fetched_at > self.ttl or kid not in self._keys

    async def get(self, kid: str) -> PyJWK | None:
        # While a fetch is in flight, wait for it rather than answer from the old keys.
        if self._wants_fetch(kid) or self._lock.locked():
            async with self._lock:
                # Decide again under the lock: requests queued behind a fetch use its result.
                if self._wants_fetch(kid):
                    self._attempted_at = time.monotonic()
                    try:
                        await self._fetch()
                    except (httpx.HTTPError, ValueError) as exc:
                        log.warning("jwks fetch failed", url=self.url, reason=str(exc))
        return self._keys.get(kid)


class VerifiedTokens:
    """Tokens that passed verification, each kept only until it expires.

    Keyed by the whole token, signature included: a token that differs in one byte is
    verified afresh, so a cached entry can only ever answer for the exact bytes that were
    verified. Only successes are kept (a forged token costs its own verification every
    time), at most ``max_entries``, least recently used first out. Expiry is checked on
    every hit with the verifier's own rule (PyJWT: expired once ``exp <= now - leeway``).
    """

    def __init__(self, max_entries: int, leeway_seconds: float) -> None:
        self.max_entries = max_entries
        self.leeway = leeway_seconds
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def get(self, token: str) -> Principal | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        principal, expires = entry
        if expires <= time.time() - self.leeway:
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return principal

    def put(self, token: str, principal: Principal, expires: float) -> None:
        if self.max_entries <= 0:
            return
        self._entries[token] = (principal, expires)
        self._entries.move_to_end(token)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class TokenVerifier:
    def __init__(self, settings: Settings, http_client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.verified = VerifiedTokens(
            settings.verified_token_cache_size, settings.jwt_leeway_seconds
        )
        self.secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
        allowed = set(settings.jwt_algorithms)
        self.symmetric = sorted(allowed & _SYMMETRIC) if self.secret else []
        self.jwks = (
            JWKSCache(settings.jwt_jwks_url, settings.jwks_cache_seconds, http_client)
            if settings.jwt_jwks_url
            else None
        )
        self.asymmetric = sorted(allowed & _ASYMMETRIC) if self.jwks else []

    async def verify(self, token: str) -> Principal:
        cached = self.verified.get(token)
        if cached is not None:
            return cached
        principal, expires = await self._verify(token)
        self.verified.put(token, principal, expires)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        """The principal and the token's ``exp`` (a Unix time), or Unauthenticated."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("Malformed token") from exc
        alg = header.get("alg")
        key: Any
        if alg in self.symmetric:
            key = self.secret
        elif alg in self.asymmetric and self.jwks is not None:
            kid = header.get("kid")
            jwk = await self.jwks.get(kid) if isinstance(kid, str) else None
            if jwk is None:
                raise Unauthenticated("Unknown signing key")
            key = jwk
        else:
            # Covers "none" and any algorithm we do not hold a key for (key confusion).
            raise Unauthenticated("Unsupported token algorithm")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                leeway=self.settings.jwt_leeway_seconds,
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("Token expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthenticated("Invalid token audience") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("Invalid token") from exc
        try:
            user_id = uuid.UUID(str(claims["sub"]))
        except ValueError as exc:
            raise Unauthenticated("Invalid token subject") from exc
        email = claims.get("email")
        principal = Principal(user_id=user_id, email=email if isinstance(email, str) else None)
        # PyJWT checked that exp is a number (an int or a float) and not past.
        return principal, float(claims["exp"])


def mint_token(
    settings: Settings,
    sub: str,
    email: str | None = None,
    ttl_seconds: int = 3600,
    extra: dict[str, Any] | None = None,
) -> str:
    """A development token signed with the configured HS256 secret."""
    if settings.jwt_secret is None:
        raise RuntimeError("EDITAI_JWT_SECRET is not set")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + ttl_seconds,
        "role": "authenticated",
    }
    if email:
        claims["email"] = email
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    claims.update(extra or {})
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("Authorization header must be 'Bearer <token>'")
    return value.strip()
