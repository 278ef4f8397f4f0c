"""The verified-token cache (issue 8): a cached token answers only for its exact bytes,
and only until it expires; failures are never cached.

The verifier is the real one (PyJWT, HS256 with the test secret); the tokens are forged
for real. Whether a verification ran is told by the cache's contents and by timing out a
token, never by patching the verifier.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import jwt
import pytest

from editai.auth.principal import Principal
from editai.auth.tokens import TokenVerifier, VerifiedTokens
from editai.errors import Unauthenticated
from editai.settings import Settings
from tests.api import Api
from tests.conftest import TEST_JWT_SECRET, make_settings

SECRET = TEST_JWT_SECRET


def _token(sub: str, *, exp: float, secret: str = SECRET, **extra: object) -> str:
    payload = {"sub": sub, "aud": "authenticated", "exp": exp, **extra}
    return jwt.encode(payload, secret, algorithm="HS256")


@pytest.fixture
def verifier(run_dir: Path) -> TokenVerifier:
    settings = make_settings(run_dir, "sqlite+aiosqlite:///unused.db", jwt_leeway_seconds=0)
    return TokenVerifier(settings)


async def test_a_verified_token_is_kept_and_answers_for_the_same_user(
    verifier: TokenVerifier,
) -> None:
    sub = str(uuid.uuid4())
    token = _token(sub, exp=time.time() + 60, email="a@example.test")
    first = await verifier.verify(token)
    assert len(verifier.verified) == 1
    again = await verifier.verify(token)
    assert again == first
    assert str(again.user_id) == sub
    assert again.email == "a@example.test"


async def test_a_cached_token_expires_on_time(verifier: TokenVerifier) -> None:
    token = _token(str(uuid.uuid4()), exp=time.time() + 1.0)
    await verifier.verify(token)
    assert verifier.verified.get(token) is not None
    await asyncio.sleep(1.1)
    with pytest.raises(Unauthenticated, match="expired"):
        await verifier.verify(token)
    assert verifier.verified.get(token) is None


async def test_a_token_that_differs_from_a_cached_one_is_verified_afresh(
    verifier: TokenVerifier,
) -> None:
    sub = str(uuid.uuid4())
    genuine = _token(sub, exp=time.time() + 60)
    await verifier.verify(genuine)
    header, payload, signature = genuine.split(".")
    # The same header and payload under a wrong signature, and another user's payload
    # under the cached token's signature: both refused although the genuine one is cached.
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    other = _token(str(uuid.uuid4()), exp=time.time() + 60).split(".")[1]
    for forged in (f"{header}.{payload}.{flipped}", f"{header}.{other}.{signature}"):
        with pytest.raises(Unauthenticated):
            await verifier.verify(forged)
    wrong_secret = _token(sub, exp=time.time() + 60, secret="x" * 40)
    with pytest.raises(Unauthenticated):
        await verifier.verify(wrong_secret)
    assert len(verifier.verified) == 1  # failures are not kept


def test_the_cache_is_bounded_least_recently_used_first_out() -> None:
    cache = VerifiedTokens(max_entries=2, leeway_seconds=0)
    later = time.time() + 60
    a, b, c = (Principal(uuid.uuid4()) for _ in range(3))
    cache.put("a", a, later)
    cache.put("b", b, later)
    assert cache.get("a") == a  # a is now the most recently used
    cache.put("c", c, later)
    assert cache.get("b") is None
    assert cache.get("a") == a
    assert cache.get("c") == c
    off = VerifiedTokens(max_entries=0, leeway_seconds=0)
    off.put("a", a, later)
    assert off.get("a") is None


async def test_through_the_api_an_expired_cached_token_is_refused(
    api: Api, settings: Settings
) -> None:
    # The app's own verifier: the token is used (and cached), then it expires (leeway
    # included), and the next request is refused as UNAUTHENTICATED.
    leeway = settings.jwt_leeway_seconds
    sub = str(uuid.uuid4())
    token = _token(sub, exp=time.time() - leeway + 1.5)
    (await api.gql("{ me { id } }", token=token)).ok()
    (await api.gql("{ me { id } }", token=token)).ok()
    await asyncio.sleep(1.6)
    refused = await api.gql("{ me { id } }", token=token)
    assert refused.code == "UNAUTHENTICATED", refused
