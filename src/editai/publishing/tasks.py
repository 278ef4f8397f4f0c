"""PUBLISH_CLIPS: per clip, upload its file to Postiz once, then one ``POST /posts`` for all
of its channels not yet posted.

Every answer from Postiz is stored in its own transaction right after the call (the
upload on the clip's rows, each post id on its row), so a re-run, automatic or by
``retryJob``, re-uploads nothing and posts nothing twice: rows carrying a post id are
done. The one window left is a crash between Postiz accepting a post and that commit
(Postiz has no idempotency key to close it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from editai.clips.repository import ClipRepository
from editai.errors import AppError
from editai.integrations.errors import ProviderAuthError, ProviderError, ProviderRequestError
from editai.jobs.models import JobKind
from editai.jobs.progress import Report, step_progress
from editai.jobs.registry import JobContext, JobFailedError, JobResult, task
from editai.publishing.models import Publication, PublicationStatus, PublishMode
from editai.publishing.postiz import ChannelPost, PostizClient, PostizMedia
from editai.publishing.repository import PublicationRepository
from editai.publishing.service import PostizAccess, clip_file, postiz_access

POST_TYPE = {PublishMode.NOW: "now", PublishMode.SCHEDULE: "schedule", PublishMode.DRAFT: "draft"}
POSTED_STATUS = {
    PublishMode.NOW: PublicationStatus.PUBLISHED,
    PublishMode.SCHEDULE: PublicationStatus.SCHEDULED,
    PublishMode.DRAFT: PublicationStatus.DRAFT,
}
UNCONFIRMED = "Postiz did not confirm a post for this channel"
MISSING_FILE = "The clip's file is missing: render or export it again"


@dataclass(frozen=True, slots=True)
class Row:
    """A publication as read at the start of this run (plain data, no session)."""

    id: uuid.UUID
    clip_id: uuid.UUID
    integration_id: str
    provider: str
    mode: PublishMode
    content: str
    scheduled_at: datetime | None
    media: PostizMedia | None
    posted: bool

    @classmethod
    def of(cls, p: Publication) -> Row:
        media = p.postiz_media or {}
        return cls(
            id=p.id,
            clip_id=p.clip_id,
            integration_id=p.integration_id,
            provider=p.integration_provider or "",
            mode=PublishMode(p.mode),
            content=p.content,
            scheduled_at=p.scheduled_at,
            media=PostizMedia(str(media["id"]), str(media["path"])) if media.get("id") else None,
            posted=p.postiz_post_id is not None,
        )


class Publisher:
    """One run of a publish job: the rows still to post and how each outcome is recorded."""

    def __init__(self, ctx: JobContext, client: PostizClient, rows: Sequence[Row]) -> None:
        self.ctx = ctx
        self.client = client
        self.open = {r.id: r for r in rows if not r.posted}
        self.posted = sum(1 for r in rows if r.posted)
        self.refused: list[str] = []  # why clips' posts failed for good in this run
        self.gone: list[uuid.UUID] = []  # clips deleted while the job ran

    async def run(self, todo: list[tuple[uuid.UUID, list[Row]]]) -> None:
        final_attempt = self.ctx.job.attempts >= self.ctx.job.max_attempts
        for index, (clip_id, rows) in enumerate(todo):
            progress = step_progress(self.ctx.report_progress, index, len(todo))
            try:
                await self.run_clip(clip_id, rows, progress)
            except ProviderAuthError as exc:
                # A wrong key fails every post: stop now, no retries.
                await self.fail(list(self.open), exc.message)
                raise JobFailedError(exc.message) from exc
            except ProviderRequestError as exc:
                # Postiz refused this clip (too big, a channel disabled since...): the
                # others may still pass.
                await self.fail([r.id for r in rows], exc.message)
                self.refused.append(exc.message)
            except ProviderError as exc:
                # Down, slow or rate-limited past the allowed waits: the job retries later;
                # meanwhile the rows say why (FAILED once no retry is left).
                if final_attempt:
                    await self.fail(list(self.open), exc.message)
                else:
                    await self.update([r.id for r in rows], error=exc.message)
                raise
            except Exception:
                if final_attempt:  # no run will come to settle these rows
                    await self.fail(list(self.open), "Internal error while publishing")
                raise
            await progress(1.0)

    async def run_clip(self, clip_id: uuid.UUID, rows: list[Row], progress: Report) -> None:
        relative = await self.clip_file(clip_id)
        if relative is None:  # deleted meanwhile: its rows went with it
            self.skip(clip_id, rows)
            return
        media = next((r.media for r in rows if r.media is not None), None)
        if media is None:
            try:
                path = await self.ctx.runtime.storage.readable_path(relative, self.ctx.temp_dir)
                media = await self.client.upload(path, f"{clip_id}.mp4")
            except FileNotFoundError:
                if await self.clip_file(clip_id) is None:
                    self.skip(clip_id, rows)
                else:
                    await self.fail([r.id for r in rows], MISSING_FILE)
                    self.refused.append(MISSING_FILE)
                return
            # Stored at once: a re-run posts this upload instead of uploading again.
            await self.update([r.id for r in rows], postiz_media=media.as_json())
            await progress(0.5)
        first = rows[0]  # one job: one mode, date and text for all its rows
        posted = await self.client.create_posts(
            post_type=POST_TYPE[first.mode],
            date=first.scheduled_at or datetime.now(UTC),
            content=first.content,
            media=media,
            channels=[ChannelPost(r.integration_id, r.provider) for r in rows],
        )
        await self.record_posts(rows, posted)

    async def record_posts(self, rows: list[Row], posted: dict[str, str]) -> None:
        async with self.ctx.transaction() as session:
            repo = PublicationRepository(session)
            for row in rows:
                post_id = posted.get(row.integration_id)
                if post_id is None:
                    values: dict[str, Any] = {
                        "status": PublicationStatus.FAILED,
                        "error": UNCONFIRMED,
                    }
                else:
                    values = {"postiz_post_id": post_id, "status": POSTED_STATUS[row.mode]}
                await repo.update_rows([row.id], **values)
        for row in rows:
            self.open.pop(row.id, None)
        self.posted += sum(1 for row in rows if row.integration_id in posted)
        if any(row.integration_id not in posted for row in rows):
            self.refused.append(UNCONFIRMED)

    def skip(self, clip_id: uuid.UUID, rows: Sequence[Row]) -> None:
        self.gone.append(clip_id)
        for row in rows:
            self.open.pop(row.id, None)

    async def update(self, ids: Sequence[uuid.UUID], **values: Any) -> None:
        async with self.ctx.transaction() as session:
            await PublicationRepository(session).update_rows(ids, **values)

    async def fail(self, ids: Sequence[uuid.UUID], message: str) -> None:
        await self.update(ids, status=PublicationStatus.FAILED, error=message)
        for row_id in ids:
            self.open.pop(row_id, None)

    async def clip_file(self, clip_id: uuid.UUID) -> str | None:
        """The clip's file (relative path), or None once the clip is deleted."""
        async with self.ctx.transaction() as session:
            clip = await ClipRepository(session).get(clip_id)
        return clip_file(clip) if clip is not None else None


def _by_clip(rows: Sequence[Row], order: Sequence[uuid.UUID]) -> list[tuple[uuid.UUID, list[Row]]]:
    """Open rows grouped per clip, in the order the clips were given."""
    grouped: dict[uuid.UUID, list[Row]] = {}
    for row in rows:
        if not row.posted:
            grouped.setdefault(row.clip_id, []).append(row)
    rank = {clip_id: index for index, clip_id in enumerate(order)}
    return sorted(grouped.items(), key=lambda item: rank.get(item[0], len(rank)))


async def _start(ctx: JobContext) -> tuple[list[Row], PostizAccess | None, str | None]:
    try:
        access: PostizAccess | None = postiz_access(await ctx.profile(), ctx.runtime.settings)
        problem = None
    except AppError as exc:  # the profile's Postiz settings were removed since
        access, problem = None, exc.message
    async with ctx.transaction() as session:
        rows = [Row.of(p) for p in await PublicationRepository(session).for_job(ctx.job.id)]
        # A re-run starts the rows it still has to post afresh.
        await PublicationRepository(session).update_rows(
            [r.id for r in rows if not r.posted], status=PublicationStatus.PENDING, error=None
        )
    return rows, access, problem


@task(JobKind.PUBLISH_CLIPS.value)
async def publish_clips(ctx: JobContext) -> JobResult:
    order = [uuid.UUID(i) for i in ctx.job.payload.get("clip_ids") or []]
    rows, access, problem = await _start(ctx)
    if not rows:
        raise JobFailedError("None of the clips to publish exist any more")
    todo = _by_clip(rows, order)
    if not todo:  # everything was posted by an earlier run
        return {"posted": len(rows), "deleted_clips": []}
    if access is None:
        async with ctx.transaction() as session:
            await PublicationRepository(session).update_rows(
                [r.id for _, group in todo for r in group],
                status=PublicationStatus.FAILED,
                error=problem,
            )
        raise JobFailedError(problem or "Postiz is not configured")
    async with PostizClient(access.url, access.api_key, ctx.runtime.settings) as client:
        publisher = Publisher(ctx, client, rows)
        await publisher.run(todo)
    if publisher.refused:
        raise JobFailedError(
            f"Postiz refused {len(publisher.refused)} of {len(todo)} clip post(s): "
            f"{publisher.refused[0]}"
        )
    if len(publisher.gone) == len(todo) and publisher.posted == 0:
        raise JobFailedError("None of the clips to publish exist any more")
    return {"posted": publisher.posted, "deleted_clips": [str(c) for c in publisher.gone]}
