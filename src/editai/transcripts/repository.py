"""All SQL about transcripts (profile filter added by the tenant hook)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from editai.db.base import utcnow
from editai.db.dialect_insert import insert_for
from editai.db.scope import TenancyViolation
from editai.db.tenancy import scope_of
from editai.transcripts.models import Transcript


class TranscriptRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_project(self, project_id: uuid.UUID) -> Transcript | None:
        return await self.session.scalar(
            select(Transcript).where(Transcript.project_id == project_id)
        )

    async def for_projects(self, project_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Transcript]:
        """Each project's transcript (projects without one are absent), in one query."""
        if not project_ids:
            return {}
        rows = await self.session.scalars(
            select(Transcript).where(Transcript.project_id.in_(project_ids))
        )
        return {row.project_id: row for row in rows.all()}

    async def replace(
        self,
        project_id: uuid.UUID,
        *,
        language: str,
        duration_seconds: float,
        model: str,
        segments: list[dict[str, Any]],
        words: list[dict[str, Any]],
    ) -> Transcript:
        """The project's transcript, written or overwritten (one row per project).

        One INSERT ... ON CONFLICT (project_id) DO UPDATE, so two runs finishing together
        leave one row (the later one's) instead of a unique-constraint failure.
        """
        profile_id = scope_of(self.session).profile_id
        if profile_id is None:
            raise TenancyViolation("writing a transcript needs a profile scope")
        now = utcnow()
        content: dict[str, Any] = {
            "language": language,
            "duration_seconds": duration_seconds,
            "model": model,
            "segments": segments,
            "words": words,
            "updated_at": now,
        }
        insert = insert_for(self.session)
        stmt = insert(Transcript).values(
            id=uuid.uuid4(), profile_id=profile_id, project_id=project_id, created_at=now, **content
        )
        # The update half is limited to the own profile's row: an ORM INSERT is not filtered
        # by the tenant hook, and on SQLite nothing else would stop it. (On PostgreSQL the
        # row-level security policy refuses it as well.)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[Transcript.project_id],
                set_=content,
                where=Transcript.profile_id == profile_id,
            )
        )
        transcript = await self.session.scalar(
            select(Transcript)
            .where(Transcript.project_id == project_id)
            .execution_options(populate_existing=True)
        )
        if transcript is None:  # the conflicting row is another profile's
            raise TenancyViolation("a transcript for another profile's project")
        return transcript

    async def delete_for_project(self, project_id: uuid.UUID) -> int:
        """Drops the project's transcript (its source video was replaced)."""
        result = await self.session.execute(
            delete(Transcript).where(Transcript.project_id == project_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)
