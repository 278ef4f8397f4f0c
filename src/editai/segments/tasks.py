"""EXTRACT_SEGMENTS: scene changes and speech/silence spans become segment rows."""

from __future__ import annotations

from editai.jobs.models import JobKind
from editai.jobs.progress import Report
from editai.jobs.registry import JobContext, JobResult, task
from editai.media.analysis import analyze
from editai.projects.source import SourceVideo, load_source
from editai.segments.models import Segment, SegmentKind
from editai.segments.repository import SegmentRepository

MEASURED_KINDS = (SegmentKind.SCENE, SegmentKind.SPEECH, SegmentKind.SILENCE)


@task(JobKind.EXTRACT_SEGMENTS.value)
async def extract_segments(ctx: JobContext) -> JobResult:
    return await measure_segments(ctx, await load_source(ctx), ctx.report_progress)


async def measure_segments(ctx: JobContext, source: SourceVideo, report: Report) -> JobResult:
    """Measure ``source`` and replace the project's measured segments; ``report`` gets 0..1."""
    spans = await analyze(
        ctx.runtime.binaries,
        source.path,
        source.duration,
        report,
        work_dir=ctx.temp_dir,
        has_audio=source.has_audio,
    )
    async with ctx.transaction() as session:
        # Replace, not append: a re-run (retry, crash recovery) leaves one set of rows.
        # Only the measured kinds: a model's HIGHLIGHTs (a paid analysis) stay.
        await SegmentRepository(session).replace_for_project(
            source.project_id,
            [
                Segment(
                    project_id=source.project_id,
                    kind=SegmentKind(span.kind),
                    start_seconds=round(span.start, 3),
                    end_seconds=round(span.end, 3),
                    score=round(span.score, 4),
                )
                for span in spans
            ],
            kinds=MEASURED_KINDS,
        )
    counts = {kind.value: sum(1 for s in spans if s.kind == kind.value) for kind in MEASURED_KINDS}
    return {"segments": len(spans), "by_kind": counts}
