"""DESIGN §4: first sight of a user is idempotent under concurrency.

Twenty requests carrying the same brand-new token race through the whole stack; the
database must end up with one user row and one default profile, and every request
must see that same profile.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from editai.auth.tokens import mint_token
from editai.settings import Settings
from tests.api import Api
from tests.auth.helpers import account_rows

CONCURRENCY = 20
ROUNDS = 2  # a few fresh users, so the race is actually exercised more than once


async def test_concurrent_first_requests_create_one_user_and_one_profile(
    api: Api, engine: AsyncEngine, settings: Settings
) -> None:
    for _ in range(ROUNDS):
        sub = str(uuid.uuid4())
        token = mint_token(settings, sub, f"{sub[:8]}@example.test")
        queries = ["{ currentProfile { id isDefault } }", "{ me { id profiles { id } } }"]
        results = await asyncio.gather(
            *(api.gql(queries[i % 2], token=token) for i in range(CONCURRENCY))
        )
        profile_ids: set[str] = set()
        for i, result in enumerate(results):
            data = result.ok()
            if i % 2 == 0:
                assert data["currentProfile"]["isDefault"] is True
                profile_ids.add(data["currentProfile"]["id"])
            else:
                assert data["me"]["id"] == sub
                assert len(data["me"]["profiles"]) == 1
                profile_ids.add(data["me"]["profiles"][0]["id"])
        assert len(profile_ids) == 1

        rows = await account_rows(engine, settings, sub)
        assert (rows.users, rows.profiles, rows.default_profiles) == (1, 1, 1)
