"""ANALYZE_VIDEO: LOCAL measures scenes, speech and silence (the segment extraction) and,
when the source has audio, transcribes it (the first 30 % of the progress for the measures,
the rest for the transcription, editai.transcripts.tasks); GEMINI uploads a small proxy of
the source to Gemini and stores the highlight moments it names as HIGHLIGHT segments.

GEMINI steps: proxy (FFmpeg, into the job's temp dir) -> resumable upload -> wait until
the file is ACTIVE -> generateContent -> tokens recorded as cost (own transaction, right
away: the money is spent even if the answer is unusable) -> remote file deleted (always,
best effort) -> answer validated -> the project's HIGHLIGHT segments replaced in one
transaction (a retried job leaves one set).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from editai.analysis.gemini import GeminiClient, GeminiFileFailed
from editai.analysis.highlights import (
    AnswerError,
    Highlight,
    parse_highlights,
    request_body,
    token_usage,
)
from editai.analysis.proxy import make_proxy
from editai.analysis.types import Analyzer
from editai.costs.service import CostRecorder
from editai.integrations.errors import ProviderError
from editai.jobs.models import JobKind
from editai.jobs.progress import phase_progress
from editai.jobs.registry import JobContext, JobFailedError, JobResult, task
from editai.logging import get_logger
from editai.projects.repository import ProjectRepository
from editai.projects.source import SourceVideo, load_source
from editai.segments.models import Segment, SegmentKind
from editai.segments.repository import SegmentRepository
from editai.segments.tasks import measure_segments
from editai.transcripts.tasks import transcribe_source

log = get_logger(__name__)

DELETE_TIMEOUT_SECONDS = 15.0
# LOCAL: the FFmpeg measures take this share of the progress, the transcription the rest.
LOCAL_MEASURE_SHARE = 0.3


@task(JobKind.ANALYZE_VIDEO.value)
async def analyze_video(ctx: JobContext) -> JobResult:
    analyzer = Analyzer(ctx.job.payload.get("analyzer", Analyzer.LOCAL.value))
    if analyzer is Analyzer.LOCAL:
        return {"analyzer": analyzer.value, **await _analyze_locally(ctx)}
    return await _analyze_with_gemini(ctx)


async def _analyze_locally(ctx: JobContext) -> JobResult:
    source = await load_source(ctx)
    if not source.has_audio:
        return await measure_segments(ctx, source, ctx.report_progress)
    measured = await measure_segments(
        ctx, source, phase_progress(ctx.report_progress, 0.0, LOCAL_MEASURE_SHARE)
    )
    transcript = await transcribe_source(
        ctx, source, None, phase_progress(ctx.report_progress, LOCAL_MEASURE_SHARE, 1.0)
    )
    return {**measured, "transcript": transcript}


async def _gemini_key(ctx: JobContext) -> str | None:
    return (await ctx.credentials()).gemini_api_key


async def _analyze_with_gemini(ctx: JobContext) -> JobResult:
    source = await load_source(ctx)
    key = await _gemini_key(ctx)
    if key is None:
        raise JobFailedError("No Gemini API key is configured for this profile any more")
    settings = ctx.runtime.settings
    proxy = await make_proxy(
        ctx.runtime.binaries,
        source.path,
        ctx.temp_dir / "gemini-proxy.mp4",
        width=source.width,
        height=source.height,
        has_audio=source.has_audio,
        duration=source.duration,
        on_progress=phase_progress(ctx.report_progress, 0.0, 0.25),
    )
    async with GeminiClient(settings, key) as gemini:
        remote = await gemini.upload(
            proxy,
            display_name=f"editai-{ctx.job.id}",
            on_progress=phase_progress(ctx.report_progress, 0.25, 0.5),
        )
        try:
            active = await gemini.wait_active(
                remote,
                poll_seconds=settings.gemini_file_poll_seconds,
                limit_seconds=settings.gemini_file_wait_seconds,
            )
            await ctx.report_progress(0.55)
            answer = await gemini.generate_content(
                settings.gemini_model,
                request_body(active.uri, active.mime_type, source.duration),
            )
            usage = token_usage(answer)
            if usage is not None:
                async with ctx.transaction() as session:
                    await CostRecorder(session, settings).gemini_tokens(*usage, job_id=ctx.job.id)
            else:
                log.warning("gemini answer without usageMetadata: no cost recorded")
        except GeminiFileFailed as exc:
            raise JobFailedError(str(exc)) from exc
        finally:
            await _delete_quietly(gemini, remote.name)
    await ctx.report_progress(0.9)
    try:
        parsed = parse_highlights(answer, source.duration)
    except AnswerError as exc:
        raise JobFailedError(str(exc)) from exc
    await _store(ctx, source, parsed.highlights)
    return {
        "analyzer": Analyzer.GEMINI.value,
        "model": settings.gemini_model,
        "highlights": len(parsed.highlights),
        "dropped": parsed.dropped,
        "input_tokens": usage[0] if usage else None,
        "output_tokens": usage[1] if usage else None,
    }


async def _delete_quietly(gemini: GeminiClient, name: str) -> None:
    """Remove the uploaded file; Google deletes it after 48 h anyway, so never fail a job."""
    try:
        await asyncio.wait_for(gemini.delete_file(name), DELETE_TIMEOUT_SECONDS)
    except (ProviderError, TimeoutError) as exc:
        log.warning("could not delete the file uploaded to Gemini", reason=_reason(exc))


def _reason(exc: Exception) -> str:
    return exc.message if isinstance(exc, ProviderError) else type(exc).__name__


async def _store(ctx: JobContext, source: SourceVideo, highlights: Sequence[Highlight]) -> None:
    async with ctx.transaction() as session:
        if await ProjectRepository(session).get(source.project_id) is None:
            raise JobFailedError("The project was deleted while it was being analysed")
        await SegmentRepository(session).replace_for_project(
            source.project_id,
            [
                Segment(
                    project_id=source.project_id,
                    kind=SegmentKind.HIGHLIGHT,
                    start_seconds=h.start,
                    end_seconds=h.end,
                    score=h.score,
                    label=h.reason,
                )
                for h in highlights
            ],
            kinds=(SegmentKind.HIGHLIGHT,),
        )
