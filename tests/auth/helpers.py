"""Helpers for the auth tests: hand-made (forged) JWTs and database row counts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.db.tenancy import SessionFactory
from editai.profiles.models import Profile, User
from editai.settings import Settings

PROTECTED_QUERIES = {
    "currentProfile": "{ currentProfile { id } }",
    "projects": "{ projects { edges { node { id } } } }",
    "me": "{ me { id email } }",
    "profiles": "{ profiles { id } }",
    "createProject": 'mutation { createProject(input: {name: "x"}) { id } }',
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims(
    sub: str | None = None, *, aud: str | None = "authenticated", exp_in: int | None = 3600
) -> dict[str, Any]:
    """Claims of a plausible Supabase access token (a fresh user unless ``sub`` is given)."""
    now = int(time.time())
    values: dict[str, Any] = {
        "sub": sub or str(uuid.uuid4()),
        "iat": now,
        "role": "authenticated",
        "email": "someone@example.test",
    }
    if aud is not None:
        values["aud"] = aud
    if exp_in is not None:
        values["exp"] = now + exp_in
    return values


def hand_token(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """A compact JWT assembled byte by byte, so nothing refuses to build what we want."""
    return f"{b64url_json(header)}.{b64url_json(payload)}.{b64url(signature)}"


def hmac_token(
    payload: dict[str, Any],
    secret: bytes,
    *,
    alg: str = "HS256",
    extra_header: dict[str, Any] | None = None,
) -> str:
    """HS256/384/512 built by hand: PyJWT refuses PEM keys as HMAC secrets, we must not."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    header = {"alg": alg, "typ": "JWT", **(extra_header or {})}
    signing_input = f"{b64url_json(header)}.{b64url_json(payload)}"
    signature = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


@dataclass(frozen=True)
class AccountRows:
    users: int
    profiles: int
    default_profiles: int


async def account_rows(engine: AsyncEngine, settings: Settings, user_id: str) -> AccountRows:
    """What the database holds for one user, read through a system session."""
    uid = uuid.UUID(user_id)
    sessions = SessionFactory(engine, settings.db_tenant_role)
    async with sessions.system() as session:
        users = await session.scalar(select(func.count()).select_from(User).where(User.id == uid))
        profiles = await session.scalar(
            select(func.count()).select_from(Profile).where(Profile.user_id == uid)
        )
        defaults = await session.scalar(
            select(func.count())
            .select_from(Profile)
            .where(Profile.user_id == uid, Profile.is_default.is_(True))
        )
    return AccountRows(int(users or 0), int(profiles or 0), int(defaults or 0))
