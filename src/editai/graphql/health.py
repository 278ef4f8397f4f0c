from __future__ import annotations

import strawberry
from sqlalchemy import text

from editai import __version__
from editai.db.tenancy import SessionFactory
from editai.graphql.context import Info
from editai.logging import get_logger

log = get_logger(__name__)


@strawberry.type
class Health:
    status: str
    version: str
    database: bool


async def database_ok(sessions: SessionFactory) -> bool:
    try:
        async with sessions.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except Exception as exc:
        log.warning("database health check failed", reason=str(exc))
        return False


@strawberry.type
class HealthQuery:
    @strawberry.field(description="Public: server and database status. No token needed.")
    async def health(self, info: Info) -> Health:
        ok = await database_ok(info.context.services.sessions)
        return Health(status="ok" if ok else "degraded", version=__version__, database=ok)
