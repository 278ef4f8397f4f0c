from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from editai.db.dialect_insert import insert_for
from editai.persisted_queries.models import PersistedQuery


class PersistedQueryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, sha256: str) -> str | None:
        stmt = select(PersistedQuery.document).where(PersistedQuery.sha256 == sha256)
        return await self.session.scalar(stmt)

    async def add(self, sha256: str, document: str) -> None:
        """Idempotent: a hash names one text, so a second insert of it changes nothing."""
        insert = insert_for(self.session)
        await self.session.execute(
            insert(PersistedQuery).values(sha256=sha256, document=document).on_conflict_do_nothing()
        )

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(PersistedQuery)) or 0)

    async def delete_oldest(self, keep: int) -> int:
        """Deletes all but the ``keep`` newest documents; how many went."""
        newest = (
            select(PersistedQuery.sha256)
            .order_by(PersistedQuery.created_at.desc(), PersistedQuery.sha256)
            .limit(keep)
        )
        result = await self.session.execute(
            delete(PersistedQuery).where(PersistedQuery.sha256.not_in(newest))
        )
        return int(getattr(result, "rowcount", 0) or 0)
