"""All SQL about publications (the tenant hook adds the profile filter)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from editai.db.base import utcnow
from editai.pagination import Page, PageRequest, newest_first_after
from editai.publishing.models import Publication, PublicationStatus


class PublicationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add_all(self, rows: Sequence[Publication]) -> None:
        self.session.add_all(rows)

    async def for_job(self, job_id: uuid.UUID) -> Sequence[Publication]:
        stmt = (
            select(Publication)
            .where(Publication.job_id == job_id)
            .order_by(Publication.created_at, Publication.id)
        )
        return (await self.session.scalars(stmt)).all()

    async def for_clips(self, clip_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Publication]]:
        """Each clip's publications, newest first, in one query."""
        stmt = (
            select(Publication)
            .where(Publication.clip_id.in_(clip_ids))
            .order_by(Publication.created_at.desc(), Publication.id.desc())
        )
        grouped: dict[uuid.UUID, list[Publication]] = defaultdict(list)
        for row in (await self.session.scalars(stmt)).all():
            grouped[row.clip_id].append(row)
        return grouped

    async def list(
        self,
        page: PageRequest,
        *,
        job_id: uuid.UUID | None = None,
        clip_id: uuid.UUID | None = None,
        status: PublicationStatus | None = None,
    ) -> Page[Publication]:
        stmt = select(Publication).order_by(Publication.created_at.desc(), Publication.id.desc())
        if job_id is not None:
            stmt = stmt.where(Publication.job_id == job_id)
        if clip_id is not None:
            stmt = stmt.where(Publication.clip_id == clip_id)
        if status is not None:
            stmt = stmt.where(Publication.status == status)
        if page.after is not None:
            stmt = stmt.where(
                newest_first_after(Publication.created_at, Publication.id, page.after)
            )
        rows = list((await self.session.scalars(stmt.limit(page.first + 1))).all())
        return Page(rows[: page.first], len(rows) > page.first, page.after is not None)

    async def update_rows(self, ids: Sequence[uuid.UUID], **values: Any) -> None:
        """One UPDATE for these rows (those deleted meanwhile are simply not there)."""
        if not ids:
            return
        await self.session.execute(
            update(Publication)
            .where(Publication.id.in_(ids))
            .values(**values, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
