"""DESIGN §4 row 1: every bad credential on a protected field is UNAUTHENTICATED, no data.

Tokens are forged for real (wrong secret, tampered payload, ``alg: none`` built by hand,
missing claims) and sent through the whole HTTP stack. A rejected token must never
create the user it names.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.auth.tokens import mint_token
from editai.settings import Settings
from tests.api import Api
from tests.auth.helpers import (
    PROTECTED_QUERIES,
    account_rows,
    b64url,
    claims,
    hand_token,
    hmac_token,
)
from tests.conftest import TEST_JWT_SECRET

SECRET = TEST_JWT_SECRET.encode()
OTHER_SECRET = b"another-secret-0123456789-abcdefghijklmnopqrstuvwxyz"


def _hs(payload: dict[str, object], secret: bytes = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(payload, secret, algorithm=alg)


def _tampered(sub: str) -> str:
    """A genuine token for one user with its payload swapped to name ``sub``."""
    genuine = _hs(claims())
    header, _, signature = genuine.split(".")
    forged_payload = hand_token({}, claims(sub)).split(".")[1]
    return f"{header}.{forged_payload}.{signature}"


def _none_by_hand(sub: str, alg: str = "none") -> str:
    return hand_token({"alg": alg, "typ": "JWT"}, claims(sub))


def _none_by_pyjwt(sub: str) -> str:
    return jwt.encode(claims(sub), "", algorithm="none")


def _none_with_signature(sub: str) -> str:
    """``alg: none`` carrying the HMAC of a genuine token, in case anything checks it anyway."""
    valid = _hs(claims(sub))
    header = b64url(b'{"alg":"none","typ":"JWT"}')
    _, payload, signature = valid.split(".")
    return f"{header}.{payload}.{signature}"


def _without(claim: str) -> Callable[[str], str]:
    def build(sub: str) -> str:
        payload = claims(sub)
        del payload[claim]
        return _hs(payload)

    return build


# Each builder takes the ``sub`` to put in the token (when there is one) and returns the
# full Authorization header value, or None for "no header at all".
BAD_AUTHORIZATION: dict[str, Callable[[str], str | None]] = {
    "no header": lambda sub: None,
    "empty header": lambda sub: "",
    "bare word": lambda sub: "abc",
    "Bearer with nothing": lambda sub: "Bearer",
    "Bearer with spaces": lambda sub: "Bearer    ",
    "Basic scheme": lambda sub: "Basic x",
    "Basic scheme carrying a valid jwt": lambda sub: f"Basic {_hs(claims(sub))}",
    "token without scheme": lambda sub: _hs(claims(sub)),
    "not a jwt": lambda sub: "Bearer abc",
    "three garbage segments": lambda sub: "Bearer a.b.c",
    "two segments": lambda sub: "Bearer " + ".".join(_hs(claims(sub)).split(".")[:2]),
    "expired": lambda sub: "Bearer " + _hs(claims(sub, exp_in=-3600)),
    "expired beyond leeway": lambda sub: "Bearer " + _hs(claims(sub, exp_in=-60)),
    "not yet valid (nbf)": lambda sub: "Bearer " + _hs({**claims(sub), "nbf": time.time() + 3600}),
    "wrong audience": lambda sub: "Bearer " + _hs(claims(sub, aud="someone-else")),
    "audience list without ours": lambda sub: (
        "Bearer " + _hs({**claims(sub), "aud": ["anon", "service_role"]})
    ),
    "missing audience": lambda sub: "Bearer " + _hs(claims(sub, aud=None)),
    "wrong signature (other secret)": lambda sub: "Bearer " + _hs(claims(sub), OTHER_SECRET),
    "empty secret": lambda sub: "Bearer " + hmac_token(claims(sub), b""),
    "tampered payload": lambda sub: "Bearer " + _tampered(sub),
    "signature stripped": lambda sub: "Bearer " + _hs(claims(sub)).rsplit(".", 1)[0] + ".",
    "alg none by hand": lambda sub: "Bearer " + _none_by_hand(sub),
    "alg None by hand": lambda sub: "Bearer " + _none_by_hand(sub, "None"),
    "alg NONE by hand": lambda sub: "Bearer " + _none_by_hand(sub, "NONE"),
    "alg none via pyjwt": lambda sub: "Bearer " + _none_by_pyjwt(sub),
    "alg none with a real signature": lambda sub: "Bearer " + _none_with_signature(sub),
    "no alg header": lambda sub: "Bearer " + hand_token({"typ": "JWT"}, claims(sub), b"x" * 32),
    "HS512 (not in the algorithm list) with the right secret": lambda sub: (
        "Bearer " + hmac_token(claims(sub), SECRET, alg="HS512")
    ),
    "HS384 (not in the algorithm list) with the right secret": lambda sub: (
        "Bearer " + hmac_token(claims(sub), SECRET, alg="HS384")
    ),
    "RS256 header on an HMAC signature": lambda sub: (
        "Bearer " + hmac_token(claims(sub), SECRET, extra_header={"alg": "RS256", "kid": "k"})
    ),
    "missing exp": lambda sub: "Bearer " + _without("exp")(sub),
    "missing sub": lambda sub: "Bearer " + _without("sub")(sub),
    "sub not a uuid": lambda sub: "Bearer " + _hs({**claims(sub), "sub": "not-a-uuid"}),
    "sub empty": lambda sub: "Bearer " + _hs({**claims(sub), "sub": ""}),
    "exp not a number": lambda sub: "Bearer " + _hs({**claims(sub), "exp": "tomorrow"}),
}


@pytest.mark.parametrize("case", list(BAD_AUTHORIZATION))
async def test_bad_credentials_are_unauthenticated_everywhere(
    case: str, api: Api, engine: AsyncEngine, settings: Settings
) -> None:
    sub = str(uuid.uuid4())
    authorization = BAD_AUTHORIZATION[case](sub)
    headers = {} if authorization is None else {"Authorization": authorization}
    for field, query in PROTECTED_QUERIES.items():
        result = await api.gql(query, headers=headers)
        assert result.status_code == 200, (field, result)
        assert result.code == "UNAUTHENTICATED", (field, result)
        assert result.data is None, (field, result)
        assert result.errors[0]["path"] == [field]
    # A token that does not verify must not bring its user into existence.
    rows = await account_rows(engine, settings, sub)
    assert (rows.users, rows.profiles) == (0, 0)


async def test_bad_token_with_a_real_profile_header_still_unauthenticated(api: Api) -> None:
    victim = await api.new_user()
    forged = _hs(claims(victim.id), OTHER_SECRET)
    result = await api.gql(
        "{ currentProfile { id name } }", token=forged, profile_id=victim.default_profile_id
    )
    assert result.code == "UNAUTHENTICATED"
    assert result.data is None


async def test_health_needs_no_token_and_ignores_a_bad_one(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer abc"}, {"Authorization": "Basic x"}):
        result = await api.gql("{ health { status database } }", headers=headers)
        assert result.ok()["health"] == {"status": "ok", "database": True}


async def test_public_and_protected_fields_together_without_token(api: Api) -> None:
    result = await api.gql("{ health { status } me { id } }")
    assert result.code == "UNAUTHENTICATED"
    assert result.errors[0]["path"] == ["me"]
    # me is non-null, so the whole data is nulled: nothing protected leaks beside health.
    assert result.data is None


async def test_valid_token_is_accepted(api: Api, settings: Settings) -> None:
    """Control for the matrix above: the same construction with the right key works."""
    sub = str(uuid.uuid4())
    for token in (
        mint_token(settings, sub, "ok@example.test"),
        _hs(claims(sub)),
        hmac_token(claims(sub), SECRET),
    ):
        data = (await api.gql("{ me { id email } }", token=token)).ok()
        assert data["me"]["id"] == sub


async def test_audience_list_containing_ours_is_accepted(api: Api) -> None:
    sub = str(uuid.uuid4())
    token = _hs({**claims(sub), "aud": ["other", "authenticated"]})
    assert (await api.gql("{ me { id } }", token=token)).ok()["me"]["id"] == sub


async def test_expiry_leeway_is_small(api: Api, settings: Settings) -> None:
    sub = str(uuid.uuid4())
    leeway = settings.jwt_leeway_seconds
    assert 0 < leeway <= 60
    just_expired = _hs(claims(sub, exp_in=-(leeway // 2)))
    assert (await api.gql("{ me { id } }", token=just_expired)).ok()["me"]["id"] == sub
    long_expired = _hs(claims(sub, exp_in=-(leeway + 30)))
    result = await api.gql("{ me { id } }", token=long_expired)
    assert result.code == "UNAUTHENTICATED"
    assert result.errors[0]["message"] == "Token expired"


async def test_bearer_scheme_is_case_insensitive(api: Api) -> None:
    sub = str(uuid.uuid4())
    token = _hs(claims(sub))
    for scheme in ("bearer", "BEARER", "Bearer"):
        result = await api.gql("{ me { id } }", headers={"Authorization": f"{scheme} {token}"})
        assert result.ok()["me"]["id"] == sub
