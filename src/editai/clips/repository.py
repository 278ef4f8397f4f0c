"""All SQL about clips."""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Select, Uuid, any_, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from editai.clips.models import Clip, ClipStatus
from editai.db.rows import mapped_columns, records
from editai.pagination import Cursor, newest_first_after


class DeletedClip(NamedTuple):
    """What a deleted clip's row said: its project, and the keys of its objects."""

    project_id: uuid.UUID
    media_path: str | None
    export_path: str | None


class ClipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, clip_id: uuid.UUID) -> Clip | None:
        return await self.session.scalar(select(Clip).where(Clip.id == clip_id))

    def add(self, clip: Clip) -> None:
        self.session.add(clip)

    async def get_many(self, ids: Sequence[uuid.UUID]) -> Sequence[Clip]:
        return (await self.session.scalars(select(Clip).where(Clip.id.in_(ids)))).all()

    async def delete(self, clip_id: uuid.UUID) -> DeletedClip | None:
        """Deletes the clip (its publications cascade) and returns its project and the keys
        of its objects as the row had them when deleted: read and deleted in one statement,
        so an export committed just before cannot leave its file unnamed. None if absent."""
        result = await self.session.execute(
            delete(Clip)
            .where(Clip.id == clip_id)
            .returning(Clip.project_id, Clip.media_path, Clip.export_path)
            .execution_options(synchronize_session=False)
        )
        row = result.one_or_none()
        return None if row is None else DeletedClip(*row)

    async def next_revision(self, clip_id: uuid.UUID) -> int:
        """Raises the clip's revision in the database (no lost update between two
        concurrent requests) and returns the new value."""
        raised = await self.session.scalar(
            update(Clip)
            .where(Clip.id == clip_id)
            .values(revision=Clip.revision + 1)
            .returning(Clip.revision)
            .execution_options(synchronize_session=False)
        )
        if raised is None:  # pragma: no cover - the caller has just read the clip
            raise LookupError(f"clip {clip_id} is gone")
        return int(raised)

    async def apply_recut(
        self,
        clip_id: uuid.UUID,
        revision: int,
        *,
        start_seconds: float,
        end_seconds: float,
        media_path: str,
        size_bytes: int,
    ) -> bool:
        """The re-cut's range and file on the clip, only if it is still at ``revision``
        (a later updateClip wins); its export, if any, becomes stale. True if applied."""
        applied = await self.session.scalar(
            update(Clip)
            .where(Clip.id == clip_id, Clip.revision == revision)
            .values(
                start_seconds=start_seconds,
                end_seconds=end_seconds,
                media_path=media_path,
                size_bytes=size_bytes,
                export_stale=Clip.export_path.is_not(None),
                status=ClipStatus.READY,
            )
            .returning(Clip.id)
            .execution_options(synchronize_session=False)
        )
        return applied is not None

    async def first_per_project(
        self, project_ids: Sequence[uuid.UUID], limit: int, after: Cursor | None
    ) -> dict[uuid.UUID, list[Any]]:
        """Up to ``limit`` clips of each project, newest first, in ONE query (window function).

        Rows with the clip's attributes, not instances (db/rows.py): a read-only page."""
        params: dict[str, Any] = {"project_ids": list(project_ids), "limit": limit}
        if after is not None:
            params |= {"after_created_at": after.created_at, "after_id": after.id}
        dialect = self.session.get_bind().dialect.name
        stmt = _first_per_project_statement(after is not None, dialect == "postgresql")
        grouped: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for row in records(Clip, await self.session.execute(stmt, params)):
            grouped[row.project_id].append(row)
        return grouped


@functools.cache
def _first_per_project_statement(with_cursor: bool, id_array: bool) -> Select[Any]:
    """Built once per shape, values bound at execution (building it cost more than the
    query: an alias, a subquery, a label per column). ``id_array`` (PostgreSQL): the
    project ids as one array parameter, ``= ANY($1::UUID[])``, instead of an expanding
    ``IN``, whose placeholders are rendered at every execution and whose text (so the
    prepared statement) changes with the number of ids."""
    rank = (
        func.row_number()
        .over(partition_by=Clip.project_id, order_by=(Clip.created_at.desc(), Clip.id.desc()))
        .label("rank")
    )
    inner = select(Clip, rank).where(
        Clip.project_id == any_(bindparam("project_ids", type_=ARRAY(Uuid())))
        if id_array
        else Clip.project_id.in_(bindparam("project_ids", expanding=True))
    )
    if with_cursor:
        inner = inner.where(
            newest_first_after(
                Clip.created_at,
                Clip.id,
                Cursor(bindparam("after_created_at"), bindparam("after_id")),  # type: ignore[arg-type]
            )
        )
    ranked = inner.subquery()
    clip = aliased(Clip, ranked)
    return (
        select(*mapped_columns(clip))
        .where(ranked.c.rank <= bindparam("limit"))
        .order_by(ranked.c.project_id, ranked.c.rank)
    )
