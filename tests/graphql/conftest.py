"""Fixtures of the GraphQL tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.settings import Settings
from tests.api import Api
from tests.graphql.lifecycle import quiet_app_api


@pytest.fixture
async def quiet_api(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Api]:
    """The API of an app with no embedded worker (graphql/lifecycle.py ``quiet_app``)."""
    async with quiet_app_api(settings, engine) as api:
        yield api
