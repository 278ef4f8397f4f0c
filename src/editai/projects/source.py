"""A project's source video as background tasks need it (resolved path + probe facts)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from editai.jobs.registry import JobContext, JobFailedError
from editai.projects.repository import ProjectRepository


@dataclass(frozen=True, slots=True)
class SourceVideo:
    project_id: uuid.UUID
    key: str
    path: Path  # a local file FFmpeg reads (fetched into the job's temp dir from S3)
    duration: float
    width: int
    height: int
    fps: float
    has_audio: bool


async def load_source(ctx: JobContext) -> SourceVideo:
    """The job's project and its source; a readable permanent failure when gone."""
    project = None
    if ctx.job.project_id is not None:
        async with ctx.transaction() as session:
            project = await ProjectRepository(session).get(ctx.job.project_id)
    if project is None:
        raise JobFailedError("The project of this job no longer exists")
    if not project.source_path or not project.source_duration_seconds:
        raise JobFailedError("The project has no source video")
    return SourceVideo(
        project_id=project.id,
        key=project.source_path,
        path=await ctx.runtime.storage.readable_path(project.source_path, ctx.temp_dir),
        duration=project.source_duration_seconds,
        width=project.source_width or 0,
        height=project.source_height or 0,
        fps=project.source_fps or 0.0,
        has_audio=project.source_audio_codec is not None,
    )
