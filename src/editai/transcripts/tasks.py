"""TRANSCRIBE_VIDEO: the source's speech as a stored Transcript (language, segments, words).

Steps: the first audio stream to 16 kHz mono WAV in the job's temp dir (FFmpeg, first
10 % of the progress) -> faster-whisper in a child process (the rest, from the audio
position) -> the project's one transcript written or overwritten in one transaction (a
retry or re-run replaces it). Free: local work records no cost.

Also the speech phase of ``analyzeVideo(LOCAL)`` (editai.analysis.tasks), through
:func:`transcribe_source`.
"""

from __future__ import annotations

import uuid

from editai.jobs.models import JobKind
from editai.jobs.progress import Report, phase_progress
from editai.jobs.registry import JobContext, JobFailedError, JobResult, task
from editai.projects.repository import ProjectRepository
from editai.projects.source import SourceVideo, load_source
from editai.settings import Settings
from editai.transcripts.audio import extract_speech_audio
from editai.transcripts.model import MODEL_NAME, default_cache_dir
from editai.transcripts.repository import TranscriptRepository
from editai.transcripts.segments import segments_to_json
from editai.transcripts.transcriber import (
    ModelUnavailableError,
    TranscriptionOptions,
    transcribe_audio,
)
from editai.transcripts.words import TranscriptWord, words_to_json

AUDIO_SHARE = 0.1  # of the progress: decoding the audio is quick next to transcribing it


def transcription_options(settings: Settings, language: str | None) -> TranscriptionOptions:
    return TranscriptionOptions(
        model_cache=settings.model_cache_dir or default_cache_dir(),
        language=language,
        threads=settings.transcription_threads,
        beam_size=settings.transcription_beam_size,
    )


async def transcript_words(ctx: JobContext, project_id: uuid.UUID) -> tuple[TranscriptWord, ...]:
    """The words of the project's transcript; empty when it has none."""
    async with ctx.transaction() as session:
        transcript = await TranscriptRepository(session).for_project(project_id)
    return transcript.word_list() if transcript else ()


@task(JobKind.TRANSCRIBE_VIDEO.value)
async def transcribe_video(ctx: JobContext) -> JobResult:
    source = await load_source(ctx)
    if not source.has_audio:
        raise JobFailedError("The source video has no audio to transcribe")
    return await transcribe_source(
        ctx, source, ctx.job.payload.get("language"), ctx.report_progress
    )


async def transcribe_source(
    ctx: JobContext, source: SourceVideo, language: str | None, report: Report
) -> JobResult:
    """Transcribe ``source`` and store the project's transcript; ``report`` gets 0..1."""
    wav = await extract_speech_audio(
        ctx.runtime.binaries,
        source.path,
        ctx.temp_dir / "speech.wav",
        duration=source.duration,
        on_progress=phase_progress(report, 0.0, AUDIO_SHARE),
    )
    try:
        result = await transcribe_audio(
            wav,
            transcription_options(ctx.runtime.settings, language),
            phase_progress(report, AUDIO_SHARE, 1.0),
        )
    except ModelUnavailableError as exc:
        raise JobFailedError(str(exc)) from exc
    async with ctx.transaction() as session:
        project = await ProjectRepository(session).get(source.project_id)
        if project is None:
            raise JobFailedError("The project was deleted while it was being transcribed")
        if project.source_path != source.key:
            raise JobFailedError("The source video was replaced while it was being transcribed")
        await TranscriptRepository(session).replace(
            source.project_id,
            language=result.language or (language or ""),
            duration_seconds=round(result.duration or source.duration, 3),
            model=MODEL_NAME,
            segments=segments_to_json(result.segments),
            words=words_to_json(result.words),
        )
    await report(1.0)
    return {
        "language": result.language,
        "words": len(result.words),
        "segments": len(result.segments),
        "audio_seconds": round(result.duration, 3),
    }
