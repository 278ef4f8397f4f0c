"""Clip rules: which clips to generate and export, validated before any job exists."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from editai.clips.captions import CaptionsRequest, captions_payload
from editai.clips.models import Clip, ClipAspect, ClipLayout, ClipStatus, MultipleFaces, Reframe
from editai.clips.repository import ClipRepository, DeletedClip
from editai.clips.trimming import checked_range, snap_to_words
from editai.clips.voiceovers import voiceover_for_export
from editai.db.targets import Target
from editai.errors import BadUserInput, NotFound
from editai.jobs.models import Job, JobKind
from editai.jobs.service import JobService
from editai.media.voiceover_mix import DEFAULT_DUCKING_DB, MAX_DUCKING_DB
from editai.projects.models import Project
from editai.projects.service import ProjectService
from editai.transcripts.repository import TranscriptRepository
from editai.tts.models import Voiceover

MAX_VARIANTS = 20
MAX_EXPORT_CLIPS = 50
MIN_EXPORT_HEIGHT, MAX_EXPORT_HEIGHT = 144, 2160
MAX_SUBTITLE_CHARS = 500
MAX_MUTE_RANGES = 50
CLIP_NOT_FOUND = "Clip not found"
VOICEOVER_NOT_FOUND = "Voiceover not found"


def export_targets(
    clip_ids: Sequence[uuid.UUID], voiceover_id: uuid.UUID | None
) -> tuple[Target, ...]:
    """The clips and voice-over an export names (checked before the write: db/targets.py).

    None when the clip list itself is refused: its BAD_USER_INPUT comes first, as in
    ``export_clips``.
    """
    clips = Target.of(Clip, clip_ids, CLIP_NOT_FOUND)
    if not 1 <= len(clips.ids) <= MAX_EXPORT_CLIPS:
        return ()
    if voiceover_id is None:
        return (clips,)
    return (clips, Target.of(Voiceover, voiceover_id, VOICEOVER_NOT_FOUND))


@dataclass(frozen=True)
class GenerateClipsRequest:
    variant_count: int = 3
    clip_seconds: float = 30.0
    aspect: ClipAspect = ClipAspect.SOURCE
    accurate: bool = False
    reframe: Reframe = Reframe.CENTER
    layout: ClipLayout = ClipLayout.CROP
    multiple_faces: MultipleFaces = MultipleFaces.FIT_BLUR


@dataclass(frozen=True)
class ExportRequest:
    height: int = 1080
    subtitle_text: str | None = None
    mute_ranges: list[tuple[float, float]] = field(default_factory=list)
    voiceover_id: uuid.UUID | None = None
    voiceover_start_seconds: float = 0.0
    ducking_db: float = DEFAULT_DUCKING_DB
    voiceover_subtitles: bool = True
    captions: CaptionsRequest | None = None


@dataclass(frozen=True)
class UpdateClipRequest:
    """New edges (None: keep that edge) and whether to move them out of spoken words."""

    start_seconds: float | None = None
    end_seconds: float | None = None
    snap_to_words: bool = False


NO_TRANSCRIPT_TO_SNAP = (
    "snapToWords needs the project's transcript: run transcribeVideo first, or set "
    "snapToWords to false"
)


def require_source(project: Project) -> float:
    if not project.source_path or not project.source_duration_seconds:
        raise BadUserInput("The project has no source video: upload one first")
    return project.source_duration_seconds


class ClipService:
    def __init__(self, session: AsyncSession, jobs: JobService) -> None:
        self.session = session
        self.repo = ClipRepository(session)
        self.projects = ProjectService(session)
        self.jobs = jobs

    async def generate_raw_clips(self, project_id: uuid.UUID, req: GenerateClipsRequest) -> Job:
        project = await self.projects.get(project_id)
        duration = require_source(project)
        if not 1 <= req.variant_count <= MAX_VARIANTS:
            raise BadUserInput(
                f"variantCount must be between 1 and {MAX_VARIANTS}", field="variantCount"
            )
        if not 0 < req.clip_seconds <= duration:
            raise BadUserInput(
                f"clipSeconds must be greater than 0 and at most the source duration "
                f"({duration:.2f} s)",
                field="clipSeconds",
            )
        if req.variant_count * req.clip_seconds > duration + 1e-6:
            raise BadUserInput(
                f"{req.variant_count} distinct clips of {req.clip_seconds:g} s do not fit in "
                f"a {duration:.2f} s source",
                field="variantCount",
            )
        _check_framing(req)
        return await self.jobs.enqueue(
            JobKind.GENERATE_RAW_CLIPS,
            project.id,
            {
                "variant_count": req.variant_count,
                "clip_seconds": req.clip_seconds,
                "aspect": req.aspect.value,
                "accurate": req.accurate,
                "reframe": req.reframe.value,
                "layout": req.layout.value,
                "multiple_faces": req.multiple_faces.value,
            },
        )

    async def export_clips(self, clip_ids: Sequence[uuid.UUID], req: ExportRequest) -> Job:
        unique = list(dict.fromkeys(clip_ids))
        if not unique:
            raise BadUserInput("Give at least one clip to export", field="clipIds")
        if len(unique) > MAX_EXPORT_CLIPS:
            raise BadUserInput(f"At most {MAX_EXPORT_CLIPS} clips per export", field="clipIds")
        clips = {c.id: c for c in await self.repo.get_many(unique)}
        missing = [i for i in unique if i not in clips]
        if missing:
            raise NotFound(CLIP_NOT_FOUND)
        voiceover = await self._voiceover(req)
        if not MIN_EXPORT_HEIGHT <= req.height <= MAX_EXPORT_HEIGHT or req.height % 2:
            raise BadUserInput(
                f"height must be an even number from {MIN_EXPORT_HEIGHT} to {MAX_EXPORT_HEIGHT}",
                field="height",
            )
        if req.subtitle_text is not None and len(req.subtitle_text) > MAX_SUBTITLE_CHARS:
            raise BadUserInput(
                f"subtitleText must be at most {MAX_SUBTITLE_CHARS} characters",
                field="subtitleText",
            )
        if len(req.mute_ranges) > MAX_MUTE_RANGES:
            raise BadUserInput(f"At most {MAX_MUTE_RANGES} mute ranges", field="muteRanges")
        if not (math.isfinite(req.ducking_db) and 0 <= req.ducking_db <= MAX_DUCKING_DB):
            raise BadUserInput(
                f"duckingDb must be between 0 and {MAX_DUCKING_DB:g}", field="duckingDb"
            )
        for clip in clips.values():
            if clip.status not in (ClipStatus.READY, ClipStatus.EXPORTED) or not clip.media_path:
                raise BadUserInput("Only rendered clips can be exported", field="clipIds")
            _check_ranges(req.mute_ranges, clip)
            if voiceover is not None:
                _check_voiceover_start(req.voiceover_start_seconds, clip)
        captions = await captions_payload(
            self.session,
            req.captions,
            clips.values(),
            has_voiceover=voiceover is not None,
            height=req.height,
        )
        mute_ranges = _merged(req.mute_ranges)
        projects = {c.project_id for c in clips.values()}
        return await self.jobs.enqueue(
            JobKind.EXPORT_CLIPS,
            next(iter(projects)) if len(projects) == 1 else None,
            {
                "clip_ids": [str(i) for i in unique],
                "height": req.height,
                "subtitle_text": req.subtitle_text,
                "mute_ranges": [list(r) for r in mute_ranges],
                "voiceover": voiceover and _voiceover_payload(voiceover, req),
                "captions": captions,
            },
        )

    async def update_clip(self, clip_id: uuid.UUID, req: UpdateClipRequest) -> Job:
        """Queues a re-cut of the clip to the asked range (trimming.py): validated here,
        so a refused range changes nothing; the clip's revision is raised in the same
        transaction so that only the latest re-cut asked of it is ever applied."""
        clip = await self.repo.get(clip_id)
        if clip is None:
            raise NotFound(CLIP_NOT_FOUND)
        project = await self.projects.get(clip.project_id)
        duration = require_source(project)
        start = clip.start_seconds if req.start_seconds is None else req.start_seconds
        end = clip.end_seconds if req.end_seconds is None else req.end_seconds
        start, end = checked_range(start, end, duration)
        if req.snap_to_words:
            transcript = await TranscriptRepository(self.session).for_project(project.id)
            if transcript is None:
                raise BadUserInput(NO_TRANSCRIPT_TO_SNAP, field="snapToWords")
            start, end = snap_to_words(transcript.word_list(), start, end)
            start, end = max(start, 0.0), min(end, duration)
        revision = await self.repo.next_revision(clip.id)
        return await self.jobs.enqueue(
            JobKind.RECUT_CLIP,
            project.id,
            {
                "clip_id": str(clip.id),
                "start_seconds": round(start, 3),
                "end_seconds": round(end, 3),
                "revision": revision,
            },
        )

    async def delete_clip(self, clip_id: uuid.UUID) -> DeletedClip:
        """Deletes the clip, its publications with it (cascade), and cancels the queued and
        running jobs that work on it alone. A job over several clips goes on without it:
        its task skips a clip deleted meanwhile (tasks.py, publishing/tasks.py). The
        caller removes the returned keys' objects once this is committed."""
        deleted = await self.repo.delete(clip_id)
        if deleted is None:
            raise NotFound(CLIP_NOT_FOUND)
        await self.jobs.cancel_active_where(
            deleted.project_id, CLIP_JOB_KINDS, lambda job: clips_of(job) == {str(clip_id)}
        )
        return deleted

    async def _voiceover(self, req: ExportRequest) -> Voiceover | None:
        """The profile's voice-over, looked up before any other check so another profile's
        id answers exactly like an unknown one."""
        if req.voiceover_id is None:
            return None
        voiceover = await voiceover_for_export(self.session, req.voiceover_id)
        if voiceover is None:
            raise NotFound(VOICEOVER_NOT_FOUND)
        return voiceover


# Jobs whose payload names the clips they work on: ``clip_id`` (a re-cut) or ``clip_ids``.
CLIP_JOB_KINDS = (JobKind.RECUT_CLIP, JobKind.EXPORT_CLIPS, JobKind.PUBLISH_CLIPS)


def clips_of(job: Job) -> set[str]:
    """The ids of the clips a job of ``CLIP_JOB_KINDS`` works on."""
    payload = job.payload or {}
    if "clip_id" in payload:
        return {str(payload["clip_id"])}
    return {str(i) for i in payload.get("clip_ids") or []}


def _check_framing(req: GenerateClipsRequest) -> None:
    if req.aspect == ClipAspect.SOURCE:
        if req.reframe != Reframe.CENTER:
            raise BadUserInput(
                "reframe FACE needs a cropped aspect (R9_16, R1_1 or R16_9), not SOURCE",
                field="reframe",
            )
        if req.layout != ClipLayout.CROP:
            raise BadUserInput("layout FIT_BLUR needs an aspect other than SOURCE", field="layout")
    if req.reframe == Reframe.FACE and req.layout == ClipLayout.FIT_BLUR:
        raise BadUserInput(
            "layout FIT_BLUR shows the whole frame, so there is no crop to follow a face "
            "with: use reframe FACE with layout CROP (shots with several faces still fall "
            "back to FIT_BLUR), or FIT_BLUR with reframe CENTER",
            field="layout",
        )


def _voiceover_payload(voiceover: Voiceover, req: ExportRequest) -> dict[str, Any]:
    """What the job needs, captured now: the task only checks the voice-over still exists."""
    return {
        "id": str(voiceover.id),
        "media_path": voiceover.media_path,
        "words": list(voiceover.words or []),
        "start_seconds": req.voiceover_start_seconds,
        "ducking_db": req.ducking_db,
        "subtitles": req.voiceover_subtitles,
    }


def _check_voiceover_start(start: float, clip: Clip) -> None:
    length = clip.end_seconds - clip.start_seconds
    if not (math.isfinite(start) and 0 <= start < length):
        raise BadUserInput(
            f"voiceoverStartSeconds must be at least 0 and less than the clip length "
            f"({length:.2f} s)",
            field="voiceoverStartSeconds",
        )


def _check_ranges(ranges: list[tuple[float, float]], clip: Clip) -> None:
    length = clip.end_seconds - clip.start_seconds
    for start, end in ranges:
        if not 0 <= start < end <= length + 1e-6:
            raise BadUserInput(
                f"Each mute range needs 0 <= start < end <= the clip length ({length:.2f} s)",
                field="muteRanges",
            )


def _merged(ranges: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted, overlapping ranges joined: the export mutes their union, in order."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
