from __future__ import annotations

import pytest

from editai.db.tenancy import SessionFactory
from tests.db.world import World, create_world


@pytest.fixture
async def world(sessions: SessionFactory) -> World:
    return await create_world(sessions)
