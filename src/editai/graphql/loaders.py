"""DataLoaders, created per operation (never module-level: their caches are tenant data)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from strawberry.dataloader import DataLoader

from editai.clips.models import Clip
from editai.clips.repository import ClipRepository
from editai.pagination import Cursor
from editai.projects.models import Project
from editai.projects.repository import ProjectRepository
from editai.publishing.models import Publication
from editai.publishing.repository import PublicationRepository
from editai.quotas.repository import StorageUsageRepository
from editai.segments.models import Segment
from editai.segments.repository import SegmentRepository
from editai.transcripts.models import Transcript
from editai.transcripts.repository import TranscriptRepository
from editai.tts.models import Voiceover
from editai.tts.repository import VoiceoverRepository

if TYPE_CHECKING:
    from editai.graphql.operation import OperationDatabase

ClipPageKey = tuple[uuid.UUID, int, str | None]  # (project id, first + 1, after cursor)
LoadedT = TypeVar("LoadedT")
ResultT = TypeVar("ResultT")


def when_loaded(pending: Awaitable[LoadedT], build: Callable[[LoadedT], ResultT]) -> ResultT:
    """``build`` of what a loader returns: at once when it is already loaded, else an
    awaitable of it, which graphql-core awaits (the field's resolver is a plain function).

    A list's fields whose loads the list resolver made beforehand (projects/prefetch.py)
    then complete without a coroutine, and so without the task graphql-core's ``gather``
    wraps around every awaitable field (issue 8: one per project was most of a nested
    page's scheduling). A failed load raises here, in the field, as an awaited one would.
    """
    if isinstance(pending, asyncio.Future) and pending.done():
        return build(pending.result())

    async def later() -> ResultT:
        return build(await pending)

    # graphql-core awaits whatever a resolver returns that is awaitable.
    return cast(ResultT, later())


class Loaders:
    """Batch functions run in tasks of their own: they reach the session through the
    operation's gate like any resolver (graphql/operation.py)."""

    def __init__(self, database: OperationDatabase) -> None:
        self.database = database
        self.project = DataLoader[uuid.UUID, Project | None](self._load_projects)
        # Rows with the clip's attributes (ClipRepository.first_per_project), not instances.
        self.clips_page = DataLoader[ClipPageKey, list[Any]](self._load_clip_pages)
        self.segments = DataLoader[uuid.UUID, list[Segment]](self._load_segments)
        self.voiceovers = DataLoader[uuid.UUID, list[Voiceover]](self._load_voiceovers)
        self.clip = DataLoader[uuid.UUID, Clip | None](self._load_clips)
        self.publications = DataLoader[uuid.UUID, list[Publication]](self._load_publications)
        # Keyed by project id: Project.transcript and Clip.transcript share one query.
        self.transcript = DataLoader[uuid.UUID, Transcript | None](self._load_transcripts)

        self.storage_used = DataLoader[uuid.UUID, int](self._load_storage_used)

    async def _load_projects(self, ids: Sequence[uuid.UUID]) -> list[Project | None]:
        async with self.database.read() as session:
            rows = await ProjectRepository(session).get_many(list(ids))
        found = {p.id: p for p in rows}
        return [found.get(i) for i in ids]

    async def _load_clip_pages(self, keys: Sequence[ClipPageKey]) -> list[list[Any]]:
        results: dict[ClipPageKey, list[Any]] = {}
        # One query per distinct (limit, cursor) — in practice one for the whole page.
        by_window: dict[tuple[int, str | None], list[uuid.UUID]] = {}
        for project_id, limit, after in keys:
            by_window.setdefault((limit, after), []).append(project_id)
        for (limit, after), project_ids in by_window.items():
            cursor = Cursor.decode(after) if after else None
            async with self.database.read() as session:
                grouped = await ClipRepository(session).first_per_project(
                    project_ids, limit, cursor
                )
            for project_id in project_ids:
                results[(project_id, limit, after)] = grouped.get(project_id, [])
        return [results[k] for k in keys]

    async def _load_segments(self, ids: Sequence[uuid.UUID]) -> list[list[Segment]]:
        async with self.database.read() as session:
            grouped = await SegmentRepository(session).for_projects(list(ids))
        return [grouped.get(i, []) for i in ids]

    async def _load_clips(self, ids: Sequence[uuid.UUID]) -> list[Clip | None]:
        async with self.database.read() as session:
            rows = await ClipRepository(session).get_many(list(ids))
        found = {c.id: c for c in rows}
        return [found.get(i) for i in ids]

    async def _load_publications(self, clip_ids: Sequence[uuid.UUID]) -> list[list[Publication]]:
        async with self.database.read() as session:
            grouped = await PublicationRepository(session).for_clips(list(clip_ids))
        return [grouped.get(i, []) for i in clip_ids]

    async def _load_voiceovers(self, ids: Sequence[uuid.UUID]) -> list[list[Voiceover]]:
        async with self.database.read() as session:
            grouped = await VoiceoverRepository(session).for_projects(list(ids))
        return [grouped.get(i, []) for i in ids]

    async def _load_transcripts(self, project_ids: Sequence[uuid.UUID]) -> list[Transcript | None]:
        async with self.database.read() as session:
            found = await TranscriptRepository(session).for_projects(list(project_ids))
        return [found.get(i) for i in project_ids]

    async def _load_storage_used(self, profile_ids: Sequence[uuid.UUID]) -> list[int]:
        # Profiles of the signed-in user's list other than the request's own are beyond its
        # tenant session: read by the ids of Profile rows the user was given (never input).
        async with self.database.system_read() as session:
            used = await StorageUsageRepository(session).used_bytes(list(profile_ids))
        return [used[i] for i in profile_ids]
