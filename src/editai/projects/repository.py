"""All SQL about projects (profile filter added by the tenant hook)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from editai.db.rows import mapped_columns, records
from editai.pagination import Cursor, Page, PageRequest, newest_first_after
from editai.projects.models import Project, ProjectStatus


class ProjectRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, project_id: uuid.UUID) -> Project | None:
        return await self.session.scalar(select(Project).where(Project.id == project_id))

    async def get_for_update(self, project_id: uuid.UUID) -> Project | None:
        """The row locked until the transaction ends (PostgreSQL), re-read from the database."""
        stmt = (
            select(Project)
            .where(Project.id == project_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return await self.session.scalar(stmt)

    async def get_many(self, ids: Sequence[uuid.UUID]) -> Sequence[Project]:
        return (await self.session.scalars(select(Project).where(Project.id.in_(ids)))).all()

    async def list_for_profile(
        self, page: PageRequest, status: ProjectStatus | None = None
    ) -> Page[Any]:
        """A page of the profile's projects, newest first: rows with the project's
        attributes, not instances (nothing reads them to change them)."""
        params: dict[str, Any] = {"limit": page.first + 1}
        if status is not None:
            params["status"] = status
        if page.after is not None:
            params |= {"after_created_at": page.after.created_at, "after_id": page.after.id}
        stmt = _page_statement(status is not None, page.after is not None)
        rows = records(Project, await self.session.execute(stmt, params))
        return Page(rows[: page.first], len(rows) > page.first, page.after is not None)

    async def count_for_profile(self, status: ProjectStatus | None = None) -> int:
        stmt = select(func.count()).select_from(Project)
        if status is not None:
            stmt = stmt.where(Project.status == status)
        return int(await self.session.scalar(stmt) or 0)

    def add(self, project: Project) -> None:
        self.session.add(project)

    async def delete(self, project_id: uuid.UUID) -> int:
        result = await self.session.execute(delete(Project).where(Project.id == project_id))
        return int(getattr(result, "rowcount", 0) or 0)


@functools.cache
def _page_statement(with_status: bool, with_cursor: bool) -> Select[Any]:
    """``list_for_profile``'s statement, built once per shape (rows, not instances:
    db/rows.py), values bound per call."""
    stmt = select(*mapped_columns(Project)).order_by(Project.created_at.desc(), Project.id.desc())
    if with_status:
        stmt = stmt.where(Project.status == bindparam("status"))
    if with_cursor:
        after = Cursor(bindparam("after_created_at"), bindparam("after_id"))  # type: ignore[arg-type]
        stmt = stmt.where(newest_first_after(Project.created_at, Project.id, after))
    return stmt.limit(bindparam("limit"))
