"""RECUT_CLIP: a clip cut again from the source to the range updateClip asked for.

The clip keeps its id. The new file is written in the job's temp dir, moved to a name of
its own (the job id: a re-run overwrites it, never duplicates it), and only then put on
the clip, in one conditional update that applies only if no later updateClip raised the
clip's revision (trimming.py, repository.apply_recut). The old file is removed after
that commit; a superseded or orphaned new file is removed instead.

Always re-encoded (``accurate``): a stream copy starts at the keyframe before the asked
start, and an edge snapped to a word boundary would land somewhere else. Framed like the
clip was (its reframe, layout and multiple-faces choice).
"""

from __future__ import annotations

import uuid

from editai.clips.repository import ClipRepository
from editai.jobs.models import JobKind
from editai.jobs.registry import JobContext, JobFailedError, JobResult, task
from editai.projects.repository import ProjectRepository
from editai.projects.source import load_source
from editai.reframe.render import render_clip

CLIP_GONE = "The clip was deleted before it could be re-cut"
EPSILON = 1e-6


@task(JobKind.RECUT_CLIP.value)
async def recut_clip(ctx: JobContext) -> JobResult:
    payload = ctx.job.payload
    clip_id = uuid.UUID(payload["clip_id"])
    revision = int(payload["revision"])
    start, end = float(payload["start_seconds"]), float(payload["end_seconds"])
    source = await load_source(ctx)
    async with ctx.transaction() as session:
        clip = await ClipRepository(session).get(clip_id)
    if clip is None:
        raise JobFailedError(CLIP_GONE)
    outcome: JobResult = {"clip_id": str(clip_id), "start_seconds": start, "end_seconds": end}
    if clip.revision != revision:
        return outcome | {"superseded": True}
    if end > source.duration + EPSILON:
        raise JobFailedError(
            f"The source video was replaced and is now {source.duration:.2f} s long: "
            "the range no longer fits it"
        )
    out = ctx.temp_dir / f"{clip_id}.mp4"
    try:
        # Framed as when it was generated (reframe/render.py): a FACE clip's path is
        # planned again for its new range.
        await render_clip(
            ctx.runtime.binaries,
            source.path,
            out,
            start,
            end - start,
            clip.aspect.value,
            clip.reframe.value,
            clip.layout.value,
            clip.multiple_faces.value,
            source.width,
            source.height,
            source.fps,
            ctx.report_progress,
            ctx.temp_dir,
            accurate=True,
        )
    except ValueError as exc:
        raise JobFailedError(str(exc)) from exc
    storage = ctx.runtime.storage
    relative = storage.clip_key(ctx.profile_id, source.project_id, clip_id, ctx.job.id)
    size = await storage.publish(out, relative)
    async with ctx.transaction() as session:
        repo = ClipRepository(session)
        # Read before the update, which does not refresh it: ``current.media_path`` stays
        # the file this re-cut replaces.
        current = await repo.get(clip_id)
        applied = current is not None and await repo.apply_recut(
            clip_id,
            revision,
            start_seconds=start,
            end_seconds=end,
            media_path=relative,
            size_bytes=size,
        )
        project_gone = (
            current is None and await ProjectRepository(session).get(source.project_id) is None
        )
    if project_gone:
        # The store above re-created its folder: remove that, not only the file.
        await storage.remove_project(ctx.profile_id, source.project_id)
        raise JobFailedError(CLIP_GONE)
    if not applied:
        await storage.remove_file(relative)
        if current is None:
            raise JobFailedError(CLIP_GONE)
        return outcome | {"superseded": True}
    assert current is not None
    if current.media_path and current.media_path != relative:
        await storage.remove_file(current.media_path)
    return outcome | {"superseded": False}
