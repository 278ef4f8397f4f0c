"""GENERATE_RAW_CLIPS and EXPORT_CLIPS: FFmpeg work, written to the job's temp dir, then
moved into place and recorded in one transaction. Clip ids and file names derive from
the job id, so a re-run after a crash overwrites instead of duplicating.

An export with a voice-over checks, when it starts, that the voice-over still exists and
copies its audio into the job's temp dir: a voice-over deleted before the job ran fails
the job with a readable error (an export without the voice the user asked for would be
a silent surprise); one deleted while the job runs no longer matters.
"""

from __future__ import annotations

import uuid
from typing import Any

from editai.clips.captions import caption_words
from editai.clips.models import Clip, ClipAspect, ClipLayout, ClipStatus, MultipleFaces, Reframe
from editai.clips.repository import ClipRepository
from editai.clips.voiceovers import voiceover_for_export
from editai.jobs.models import JobKind
from editai.jobs.progress import phase_progress, step_progress
from editai.jobs.registry import JobContext, JobFailedError, JobResult, task
from editai.media.analysis import SpanScore, analyze
from editai.media.export import export_clip
from editai.media.ffmpeg import FFmpegError, keyframe_at_or_before, probe_json
from editai.media.render import needs_reencode
from editai.media.storage import ObjectMissing, StoragePathError
from editai.media.voiceover_mix import VoiceoverMix, words_from_json
from editai.media.windows import choose_windows
from editai.projects.repository import ProjectRepository
from editai.projects.source import SourceVideo, load_source
from editai.reframe.render import render_clip
from editai.segments.repository import SegmentRepository
from editai.transcripts.boundaries import snap_windows, speech_spans
from editai.transcripts.tasks import transcript_words


async def _spans(ctx: JobContext, source: SourceVideo) -> tuple[list[SpanScore], float]:
    """Stored segment scores when extracted before; otherwise analyse now (first 30 %)."""
    async with ctx.transaction() as session:
        stored = (await SegmentRepository(session).for_projects([source.project_id])).get(
            source.project_id, []
        )
    if stored:
        spans = [SpanScore(s.kind.value, s.start_seconds, s.end_seconds, s.score) for s in stored]
        return spans, 0.0
    spans = await analyze(
        ctx.runtime.binaries,
        source.path,
        source.duration,
        phase_progress(ctx.report_progress, 0.0, 0.3),
        work_dir=ctx.temp_dir,
        has_audio=source.has_audio,
    )
    return spans, 0.3


def _shown_seconds(probe: dict[str, Any]) -> float:
    """Seconds of the source a clip file shows: its video stream's duration (the container's
    also counts the decoder delay of a stream copy's first frame)."""
    for stream in probe.get("streams") or []:
        if stream.get("codec_type") == "video" and stream.get("duration"):
            return float(stream["duration"])
    return float(probe.get("format", {})["duration"])


@task(JobKind.GENERATE_RAW_CLIPS.value)
async def generate_raw_clips(ctx: JobContext) -> JobResult:
    payload = ctx.job.payload
    source = await load_source(ctx)
    clip_seconds = float(payload["clip_seconds"])
    aspect = ClipAspect(payload["aspect"])
    accurate = bool(payload["accurate"])
    # Jobs queued before framing existed carry no framing: the centred crop they asked for.
    reframe = Reframe(payload.get("reframe", Reframe.CENTER.value))
    layout = ClipLayout(payload.get("layout", ClipLayout.CROP.value))
    multiple_faces = MultipleFaces(payload.get("multiple_faces", MultipleFaces.FIT_BLUR.value))
    spans, done = await _spans(ctx, source)
    # With a transcript: sentences anchor and score windows, edges move into pauses.
    words = await transcript_words(ctx, source.project_id)
    try:
        windows = choose_windows(
            source.duration,
            clip_seconds,
            int(payload["variant_count"]),
            [*spans, *speech_spans(words)],
        )
    except ValueError as exc:
        raise JobFailedError(str(exc)) from exc
    windows = snap_windows(windows, words, source.duration, clip_seconds)

    storage = ctx.runtime.storage
    rendered: list[tuple[uuid.UUID, int, float, float]] = []
    for index, window in enumerate(windows):
        clip_id = uuid.uuid5(ctx.job.id, f"clip-{index}")
        out = ctx.temp_dir / f"{clip_id}.mp4"
        await render_clip(
            ctx.runtime.binaries,
            source.path,
            out,
            window.start,
            window.seconds if words else clip_seconds,
            aspect.value,
            reframe.value,
            layout.value,
            multiple_faces.value,
            source.width,
            source.height,
            source.fps,
            step_progress(ctx.report_progress, index, len(windows), start=done),
            ctx.temp_dir,
            accurate=accurate,
        )
        # Stream-copied clips start at the keyframe at or before the window and may run a
        # little long: record the part of the source the file really holds.
        start = window.start
        if not needs_reencode(aspect.value, accurate):
            start = await keyframe_at_or_before(ctx.runtime.binaries, source.path, start)
        actual = _shown_seconds(await probe_json(ctx.runtime.binaries, out))
        rendered.append((clip_id, index, start, min(start + actual, source.duration)))

    targets = {
        clip_id: storage.clip_key(ctx.profile_id, source.project_id, clip_id)
        for clip_id, *_ in rendered
    }
    # Stored before the transaction below: a committed clip always has its object.
    sizes = {
        clip_id: await storage.publish(ctx.temp_dir / f"{clip_id}.mp4", target)
        for clip_id, target in targets.items()
    }
    async with ctx.transaction() as session:
        if await ProjectRepository(session).get(source.project_id) is None:
            # The stores above re-created its folder/prefix: remove it all, not only these.
            await storage.remove_project(ctx.profile_id, source.project_id)
            raise JobFailedError("The project was deleted while its clips were being made")
        repo = ClipRepository(session)
        existing = {c.id for c in await repo.get_many(list(targets))}
        for clip_id, index, start, end in rendered:
            if clip_id in existing:
                continue
            repo.add(
                Clip(
                    id=clip_id,
                    project_id=source.project_id,
                    variant_index=index,
                    start_seconds=round(start, 3),
                    end_seconds=round(end, 3),
                    aspect=aspect,
                    reframe=reframe,
                    layout=layout,
                    multiple_faces=multiple_faces,
                    status=ClipStatus.READY,
                    media_path=targets[clip_id],
                    size_bytes=sizes[clip_id],
                )
            )
    return {"clip_ids": [str(clip_id) for clip_id, *_ in rendered]}


VOICEOVER_GONE = "The voice-over for this export was deleted before the export could run"


async def _voiceover(ctx: JobContext, spec: dict[str, Any] | None) -> VoiceoverMix | None:
    """The payload's voice-over, its audio copied into the temp dir (see the docstring)."""
    if not spec:
        return None
    async with ctx.transaction() as session:
        exists = await voiceover_for_export(session, uuid.UUID(spec["id"])) is not None
    if not exists:
        raise JobFailedError(VOICEOVER_GONE)
    copy = ctx.temp_dir / f"voiceover-{spec['id']}.m4a"
    try:
        await ctx.runtime.storage.fetch(spec["media_path"], copy)
    except (ObjectMissing, FileNotFoundError, StoragePathError) as exc:
        raise JobFailedError(VOICEOVER_GONE) from exc
    return VoiceoverMix(
        path=copy,
        start_seconds=float(spec["start_seconds"]),
        ducking_db=float(spec["ducking_db"]),
        words=words_from_json(spec.get("words") or []),
        subtitles=bool(spec["subtitles"]),
    )


@task(JobKind.EXPORT_CLIPS.value)
async def export_clips(ctx: JobContext) -> JobResult:
    payload = ctx.job.payload
    wanted = [uuid.UUID(i) for i in payload["clip_ids"]]
    async with ctx.transaction() as session:
        clips = {c.id: c for c in await ClipRepository(session).get_many(wanted)}
    todo = [clips[i] for i in wanted if i in clips and clips[i].media_path]
    if not todo:
        raise JobFailedError("None of the clips to export exist any more")
    voiceover = await _voiceover(ctx, payload.get("voiceover"))
    captions = await caption_words(ctx, payload.get("captions"), todo, voiceover)
    storage = ctx.runtime.storage
    exported: dict[uuid.UUID, tuple[str, int]] = {}
    for index, clip in enumerate(todo):
        assert clip.media_path is not None
        # An export of several projects' clips belongs to none of them, so deleting one
        # does not cancel it: skip clips deleted since the job started.
        async with ctx.transaction() as session:
            if await ClipRepository(session).get(clip.id) is None:
                continue
        out = ctx.temp_dir / f"{clip.id}.mp4"
        try:
            await export_clip(
                ctx.runtime.binaries,
                await storage.readable_path(clip.media_path, ctx.temp_dir),
                out,
                height=int(payload["height"]),
                subtitle_text=payload.get("subtitle_text"),
                mute_ranges=[(float(a), float(b)) for a, b in payload.get("mute_ranges") or []],
                duration=clip.end_seconds - clip.start_seconds,
                on_progress=step_progress(ctx.report_progress, index, len(todo)),
                work_dir=ctx.temp_dir,
                voiceover=voiceover,
                captions=None if captions is None else captions.for_clip(clip),
            )
        except (FFmpegError, ObjectMissing):  # ObjectMissing: fetching it from S3
            async with ctx.transaction() as session:
                if await ClipRepository(session).get(clip.id) is None:
                    continue  # deleted meanwhile, its file with it
            raise
        target = storage.export_key(ctx.profile_id, clip.project_id, clip.id, ctx.job.id)
        exported[clip.id] = (target, await storage.publish(out, target))

    used_media = {clip.id: clip.media_path for clip in todo}
    replaced: list[str] = []
    async with ctx.transaction() as session:
        repo = ClipRepository(session)
        current = await repo.get_many(list(exported))
        for clip in current:
            relative, size = exported[clip.id]
            if clip.export_path and clip.export_path != relative:
                replaced.append(clip.export_path)
            clip.export_path = relative
            clip.export_size_bytes = size
            clip.status = ClipStatus.EXPORTED
            # Re-cut while this export ran (recut.py): the export shows the old range.
            clip.export_stale = clip.media_path != used_media[clip.id]
        kept = {clip.id for clip in current}
        gone = {c.project_id for c in todo if c.id in exported and c.id not in kept}
        projects = ProjectRepository(session)
        deleted = [p for p in gone if await projects.get(p) is None]
    for old in replaced:
        await storage.remove_file(old)
    # Clips deleted while being exported: their files must not outlive them (a deleted
    # project's folder, re-created by the move, goes entirely).
    for clip in todo:
        if clip.id in exported and clip.id not in kept and clip.project_id not in deleted:
            await storage.remove_file(exported[clip.id][0])
    for project_id in deleted:
        await storage.remove_project(ctx.profile_id, project_id)
    if not kept:
        raise JobFailedError("None of the clips to export exist any more")
    return {"exported_clip_ids": [str(i) for i in exported if i in kept]}
