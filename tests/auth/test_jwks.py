"""Asymmetric tokens (RS256, ES256) verified against a real JWKS endpoint on 127.0.0.1.

The JWKS server is ``http.server`` in a thread; the app fetches it with its own httpx
client. The only thing faked is the monotonic clock the JWKS cache reads (to cross its
10 s refetch throttle and its TTL without sleeping); verification itself is untouched.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy.ext.asyncio import AsyncEngine

import editai.auth.tokens as tokens_module
from editai.app import create_app
from editai.settings import Settings
from tests.api import Api
from tests.auth.helpers import account_rows, claims, hand_token, hmac_token
from tests.auth.jwks_server import JwksServer, SigningKey, ec_key, rsa_key, serve_jwks
from tests.conftest import TEST_JWT_SECRET, make_settings


@pytest.fixture(scope="module")
def rsa1() -> SigningKey:
    return rsa_key("rsa-1")


@pytest.fixture(scope="module")
def ec1() -> SigningKey:
    return ec_key("ec-1")


@pytest.fixture(scope="module")
def impostor() -> SigningKey:
    """Another RSA key that claims the legitimate kid."""
    return rsa_key("rsa-1")


@pytest.fixture(scope="module")
def rsa2() -> SigningKey:
    return rsa_key("rsa-2")


@pytest.fixture(scope="module")
def attacker() -> SigningKey:
    """The attacker's own RSA key, under a kid the JWKS does not publish."""
    return rsa_key("attacker-kid")


@pytest.fixture
def jwks(rsa1: SigningKey, ec1: SigningKey) -> Iterator[JwksServer]:
    with serve_jwks() as server:
        server.publish(rsa1, ec1)
        yield server


class FakeMonotonic:
    """Stands in for the ``time`` module inside editai.auth.tokens: monotonic() can jump."""

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def time(self) -> float:
        return time.time()

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeMonotonic:
    fake = FakeMonotonic()
    monkeypatch.setattr(tokens_module, "time", fake)
    return fake


def _url(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=False)


@asynccontextmanager
async def serving(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Api]:
    import httpx

    app = create_app(settings, engine=engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield Api(c, settings)


@pytest.fixture
async def jwks_api(engine: AsyncEngine, run_dir: Path, jwks: JwksServer) -> AsyncIterator[Api]:
    """HS256 secret and JWKS both configured (Supabase during a key migration)."""
    settings = make_settings(run_dir, _url(engine), jwt_jwks_url=jwks.url)
    async with serving(settings, engine) as api:
        yield api


@pytest.fixture
async def jwks_only_api(engine: AsyncEngine, run_dir: Path, jwks: JwksServer) -> AsyncIterator[Api]:
    """Only the JWKS configured: no HMAC secret at all."""
    settings = make_settings(run_dir, _url(engine), jwt_jwks_url=jwks.url, jwt_secret=None)
    assert settings.jwt_secret is None
    async with serving(settings, engine) as api:
        yield api


async def _me(api: Api, token: str) -> Any:
    return await api.gql("{ me { id email } currentProfile { isDefault } }", token=token)


async def _assert_rejected(api: Api, token: str, engine: AsyncEngine, sub: str) -> None:
    result = await _me(api, token)
    assert result.code == "UNAUTHENTICATED", result
    assert result.data is None
    rows = await account_rows(engine, api.settings, sub)
    assert (rows.users, rows.profiles) == (0, 0)


async def test_rs256_and_es256_tokens_are_accepted(
    jwks_api: Api, jwks: JwksServer, rsa1: SigningKey, ec1: SigningKey, engine: AsyncEngine
) -> None:
    for key in (rsa1, ec1):
        sub = str(uuid.uuid4())
        data = (await _me(jwks_api, key.sign(claims(sub)))).ok()
        assert data["me"]["id"] == sub
        assert data["currentProfile"]["isDefault"] is True
        rows = await account_rows(engine, jwks_api.settings, sub)
        assert (rows.users, rows.profiles, rows.default_profiles) == (1, 1, 1)
    # One fetch served both keys: the document is cached.
    assert jwks.hits == 1
    assert jwks.paths == ["/auth/v1/.well-known/jwks.json"]


async def test_hs256_secret_still_works_next_to_the_jwks(jwks_api: Api) -> None:
    sub = str(uuid.uuid4())
    token = jwt.encode(claims(sub), TEST_JWT_SECRET, algorithm="HS256")
    assert (await _me(jwks_api, token)).ok()["me"]["id"] == sub


async def test_jwks_only_accepts_asymmetric_and_refuses_hs256(
    jwks_only_api: Api, rsa1: SigningKey, engine: AsyncEngine
) -> None:
    sub = str(uuid.uuid4())
    assert (await _me(jwks_only_api, rsa1.sign(claims(sub)))).ok()["me"]["id"] == sub
    other = str(uuid.uuid4())
    token = jwt.encode(claims(other), TEST_JWT_SECRET, algorithm="HS256")
    await _assert_rejected(jwks_only_api, token, engine, other)


@dataclass
class Keys:
    rsa1: SigningKey
    ec1: SigningKey
    impostor: SigningKey
    attacker: SigningKey


def _tamper(token: str, sub: str) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{hand_token({}, claims(sub)).split('.')[1]}.{signature}"


# name -> (keys, sub) -> forged token naming ``sub``
FORGERIES: dict[str, Callable[[Keys, str], str]] = {
    "same kid, different RSA key": lambda k, sub: k.impostor.sign(claims(sub)),
    "unknown kid": lambda k, sub: k.attacker.sign(claims(sub)),
    "no kid": lambda k, sub: jwt.encode(claims(sub), k.rsa1.private, algorithm="RS256"),
    "kid is not a string": lambda k, sub: k.rsa1.sign_raw(
        {"alg": "RS256", "typ": "JWT", "kid": 1}, claims(sub)
    ),
    "kid is a list": lambda k, sub: k.rsa1.sign_raw(
        {"alg": "RS256", "typ": "JWT", "kid": ["rsa-1"]}, claims(sub)
    ),
    "RS256 signature under the EC kid": lambda k, sub: jwt.encode(
        claims(sub), k.rsa1.private, algorithm="RS256", headers={"kid": "ec-1"}
    ),
    "ES256 signature under the RSA kid": lambda k, sub: jwt.encode(
        claims(sub), k.ec1.private, algorithm="ES256", headers={"kid": "rsa-1"}
    ),
    "PS256 (not allowed) with the right RSA key": lambda k, sub: jwt.encode(
        claims(sub), k.rsa1.private, algorithm="PS256", headers={"kid": "rsa-1"}
    ),
    "RS512 (not allowed) with the right RSA key": lambda k, sub: jwt.encode(
        claims(sub), k.rsa1.private, algorithm="RS512", headers={"kid": "rsa-1"}
    ),
    "attacker key embedded as jwk header": lambda k, sub: k.attacker.sign(
        claims(sub), headers={"kid": "rsa-1", "jwk": k.attacker.public_jwk()}
    ),
    "alg none with the legitimate kid": lambda k, sub: hand_token(
        {"alg": "none", "typ": "JWT", "kid": "rsa-1"}, claims(sub)
    ),
    "valid key, expired": lambda k, sub: k.rsa1.sign(claims(sub, exp_in=-3600)),
    "valid key, wrong audience": lambda k, sub: k.ec1.sign(claims(sub, aud="service")),
    "valid key, missing exp": lambda k, sub: k.rsa1.sign(claims(sub, exp_in=None)),
    "valid key, missing sub": lambda k, sub: k.rsa1.sign(
        {c: v for c, v in claims(sub).items() if c != "sub"}
    ),
    "valid signature, tampered payload": lambda k, sub: _tamper(k.rsa1.sign(claims()), sub),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
async def test_forged_asymmetric_tokens_are_rejected(
    forgery: str,
    jwks_api: Api,
    jwks: JwksServer,
    rsa1: SigningKey,
    ec1: SigningKey,
    impostor: SigningKey,
    attacker: SigningKey,
    engine: AsyncEngine,
) -> None:
    keys = Keys(rsa1, ec1, impostor, attacker)
    sub = str(uuid.uuid4())
    token = FORGERIES[forgery](keys, sub)
    await _assert_rejected(jwks_api, token, engine, sub)
    # Control: the legitimate keys still work on the same app.
    assert (await _me(jwks_api, rsa1.sign(claims()))).ok()


async def test_jku_header_is_never_followed(
    jwks_api: Api, engine: AsyncEngine, attacker: SigningKey
) -> None:
    """The attacker hosts their own JWKS and points the token at it: never fetched."""
    posing = SigningKey("rsa-1", "RS256", attacker.private)
    with serve_jwks() as evil:
        evil.publish(posing)
        sub = str(uuid.uuid4())
        token = posing.sign(claims(sub), headers={"jku": evil.url, "x5u": evil.url})
        await _assert_rejected(jwks_api, token, engine, sub)
        assert evil.hits == 0


PUBLIC_KEY_SECRETS: dict[str, Callable[[SigningKey], bytes]] = {
    "SubjectPublicKeyInfo PEM": lambda key: key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ),
    "PKCS1 PEM": lambda key: key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    ),
    "DER": lambda key: key.private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ),
    "JWK JSON": lambda key: json.dumps(key.public_jwk()).encode(),
    "JWK modulus": lambda key: key.public_jwk()["n"].encode(),
}


@pytest.mark.parametrize("secret_form", list(PUBLIC_KEY_SECRETS))
@pytest.mark.parametrize("with_hs_secret", [True, False], ids=["secret+jwks", "jwks-only"])
async def test_key_confusion_hs256_signed_with_the_public_key(
    secret_form: str,
    with_hs_secret: bool,
    engine: AsyncEngine,
    run_dir: Path,
    jwks: JwksServer,
    rsa1: SigningKey,
) -> None:
    overrides: dict[str, object] = {"jwt_jwks_url": jwks.url}
    if not with_hs_secret:
        overrides["jwt_secret"] = None
    settings = make_settings(run_dir, _url(engine), **overrides)
    public_secret = PUBLIC_KEY_SECRETS[secret_form](rsa1)
    async with serving(settings, engine) as api:
        # Make sure the JWKS has been fetched, so the public key is "known" to the app.
        assert (await _me(api, rsa1.sign(claims()))).ok()
        for header in ({}, {"kid": "rsa-1"}):
            for alg in ("HS256", "HS512"):
                sub = str(uuid.uuid4())
                token = hmac_token(claims(sub), public_secret, alg=alg, extra_header=header)
                await _assert_rejected(api, token, engine, sub)


async def test_key_rotation_new_kid_is_accepted_after_refetch(
    jwks_api: Api, jwks: JwksServer, rsa1: SigningKey, rsa2: SigningKey, clock: FakeMonotonic
) -> None:
    assert (await _me(jwks_api, rsa1.sign(claims()))).ok()
    assert jwks.hits == 1
    jwks.publish(rsa1, rsa2)  # the issuer rotates: a new kid appears

    # Within the 10 s throttle an unknown kid does not hammer the JWKS endpoint.
    early = await _me(jwks_api, rsa2.sign(claims()))
    assert early.code == "UNAUTHENTICATED"
    assert jwks.hits == 1

    clock.advance(11)
    sub = str(uuid.uuid4())
    data = (await _me(jwks_api, rsa2.sign(claims(sub)))).ok()
    assert data["me"]["id"] == sub
    assert jwks.hits == 2
    # The old key is still served, hence still accepted; no further fetch needed.
    assert (await _me(jwks_api, rsa1.sign(claims()))).ok()
    assert (await _me(jwks_api, rsa2.sign(claims()))).ok()
    assert jwks.hits == 2


async def test_unknown_kid_flood_is_throttled(
    jwks_api: Api, jwks: JwksServer, rsa1: SigningKey, engine: AsyncEngine
) -> None:
    assert (await _me(jwks_api, rsa1.sign(claims()))).ok()
    for i in range(10):
        sub = str(uuid.uuid4())
        attacker = SigningKey(f"random-{i}", "RS256", rsa1.private)
        await _assert_rejected(jwks_api, attacker.sign(claims(sub)), engine, sub)
    assert jwks.hits == 1


async def test_removed_key_is_rejected_once_the_cache_expires(
    jwks_api: Api, jwks: JwksServer, rsa1: SigningKey, ec1: SigningKey, clock: FakeMonotonic
) -> None:
    assert (await _me(jwks_api, rsa1.sign(claims()))).ok()
    jwks.publish(ec1)  # rsa-1 revoked
    clock.advance(jwks_api.settings.jwks_cache_seconds + 1)
    result = await _me(jwks_api, rsa1.sign(claims()))
    assert result.code == "UNAUTHENTICATED"
    assert jwks.hits == 2
    assert (await _me(jwks_api, ec1.sign(claims()))).ok()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_unreachable_jwks_fails_closed(
    engine: AsyncEngine, run_dir: Path, rsa1: SigningKey
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/jwks.json"
    settings = make_settings(run_dir, _url(engine), jwt_jwks_url=url)
    async with serving(settings, engine) as api:
        assert (await _me(api, rsa1.sign(claims()))).code == "UNAUTHENTICATED"
        # The HS256 path does not depend on the JWKS being up.
        sub = str(uuid.uuid4())
        token = jwt.encode(claims(sub), TEST_JWT_SECRET, algorithm="HS256")
        assert (await _me(api, token)).ok()["me"]["id"] == sub


@pytest.mark.parametrize(
    ("status", "raw"),
    [
        (500, b"upstream down"),
        (404, b"{}"),
        (200, b"<html>not json</html>"),
        (200, b'{"keys": "not a list"}'),
        (200, b'["not", "an", "object"]'),
        (200, b'{"keys": [1, "two", null]}'),
    ],
    ids=["500", "404", "html", "keys-not-list", "array", "junk-entries"],
)
async def test_broken_jwks_responses_fail_closed(
    status: int,
    raw: bytes,
    jwks_api: Api,
    jwks: JwksServer,
    rsa1: SigningKey,
    engine: AsyncEngine,
) -> None:
    jwks.status, jwks.raw = status, raw
    sub = str(uuid.uuid4())
    await _assert_rejected(jwks_api, rsa1.sign(claims(sub)), engine, sub)
    assert jwks.hits == 1


async def test_unusable_keys_in_the_jwks_are_skipped(
    jwks_api: Api, jwks: JwksServer, rsa1: SigningKey, ec1: SigningKey
) -> None:
    encryption_key = rsa_key("enc-1")
    enc_key = {**encryption_key.public_jwk(), "use": "enc"}
    no_kid = {k: v for k, v in ec_key("x").public_jwk().items() if k != "kid"}
    jwks.publish(
        rsa1,
        ec1,
        extra=[
            {"kty": "RSA", "kid": "broken-rsa", "e": "AQAB"},
            {"kty": "EC", "kid": "broken-ec", "crv": "P-256"},
            {"kty": "weird", "kid": "weird"},
            enc_key,
            no_kid,
        ],
    )
    assert (await _me(jwks_api, rsa1.sign(claims()))).ok()
    assert (await _me(jwks_api, ec1.sign(claims()))).ok()
    # A key published for encryption ("use": "enc") must not verify signatures.
    assert (await _me(jwks_api, encryption_key.sign(claims()))).code == "UNAUTHENTICATED"


async def test_cold_cache_under_concurrency_fetches_the_jwks_once(
    jwks_api: Api, jwks: JwksServer, rsa1: SigningKey, ec1: SigningKey
) -> None:
    tokens = [(rsa1 if i % 2 else ec1).sign(claims()) for i in range(20)]
    results = await asyncio.gather(*(_me(jwks_api, t) for t in tokens))
    for result in results:
        result.ok()
    assert jwks.hits == 1


async def test_expired_cache_under_concurrency_refetches_once(
    jwks_api: Api, jwks: JwksServer, rsa1: SigningKey, clock: FakeMonotonic
) -> None:
    assert (await _me(jwks_api, rsa1.sign(claims()))).ok()
    clock.advance(jwks_api.settings.jwks_cache_seconds + 1)
    results = await asyncio.gather(*(_me(jwks_api, rsa1.sign(claims())) for _ in range(20)))
    for result in results:
        result.ok()
    assert jwks.hits == 2


async def test_failing_jwks_endpoint_is_not_hammered(
    jwks_api: Api, jwks: JwksServer, rsa1: SigningKey, clock: FakeMonotonic
) -> None:
    jwks.status, jwks.raw = 503, b"unavailable"
    for _ in range(5):
        assert (await _me(jwks_api, rsa1.sign(claims()))).code == "UNAUTHENTICATED"
    assert jwks.hits == 1
    # The endpoint recovers; the next attempt after the throttle picks the keys up.
    jwks.status, jwks.raw = 200, None
    clock.advance(11)
    assert (await _me(jwks_api, rsa1.sign(claims()))).ok()
    assert jwks.hits == 2


async def test_outage_after_expiry_keeps_the_cached_keys_and_is_throttled(
    jwks_api: Api, jwks: JwksServer, rsa1: SigningKey, clock: FakeMonotonic
) -> None:
    assert (await _me(jwks_api, rsa1.sign(claims()))).ok()
    jwks.status, jwks.raw = 500, b"down"
    clock.advance(jwks_api.settings.jwks_cache_seconds + 1)
    for _ in range(5):
        # Last known keys keep working during the outage ...
        assert (await _me(jwks_api, rsa1.sign(claims()))).ok()
    # ... and the broken endpoint was asked once, not once per request.
    assert jwks.hits == 2
