from __future__ import annotations

import strawberry

from editai.clips.inputs import ExportClipsInput, GenerateClipsInput, UpdateClipInput
from editai.clips.models import Clip as ClipModel
from editai.clips.models import ClipAspect, ClipLayout, MultipleFaces, Reframe
from editai.clips.service import (
    CLIP_NOT_FOUND,
    ClipService,
    ExportRequest,
    GenerateClipsRequest,
    UpdateClipRequest,
    export_targets,
)
from editai.db.targets import Target
from editai.graphql.context import Info
from editai.graphql.ids import parse_id
from editai.jobs.types import Job
from editai.projects.service import project_target


@strawberry.type
class ClipMutation:
    @strawberry.mutation(description="Starts a job that cuts distinct clips, best segments first.")
    async def generate_raw_clips(
        self, info: Info, project_id: strawberry.ID, input: GenerateClipsInput | None = None
    ) -> Job:
        info.context.profile()
        project = parse_id(project_id, "Project")
        given = input or GenerateClipsInput()
        request = GenerateClipsRequest(
            variant_count=given.variant_count,
            clip_seconds=given.clip_seconds,
            aspect=ClipAspect(given.aspect),
            accurate=given.accurate,
            reframe=Reframe(given.reframe),
            layout=ClipLayout(given.layout),
            multiple_faces=MultipleFaces(given.multiple_faces),
        )
        async with info.context.unit_of_work(project_target(project)) as session:
            service = ClipService(session, info.context.job_service(session))
            job = await service.generate_raw_clips(project, request)
        return Job.from_model(job)

    @strawberry.mutation(description="Starts a job that exports clips as H.264/AAC MP4.")
    async def export_clips(
        self, info: Info, clip_ids: list[strawberry.ID], input: ExportClipsInput | None = None
    ) -> Job:
        info.context.profile()
        ids = [parse_id(i, "Clip") for i in clip_ids]
        given = input or ExportClipsInput()
        request = ExportRequest(
            height=given.height,
            subtitle_text=given.subtitle_text,
            mute_ranges=[(r.start_seconds, r.end_seconds) for r in given.mute_ranges],
            voiceover_id=(
                None if given.voiceover_id is None else parse_id(given.voiceover_id, "Voiceover")
            ),
            voiceover_start_seconds=given.voiceover_start_seconds,
            ducking_db=given.ducking_db,
            voiceover_subtitles=given.voiceover_subtitles,
            captions=None if given.captions is None else given.captions.to_request(),
        )
        targets = export_targets(ids, request.voiceover_id)
        async with info.context.unit_of_work(*targets) as session:
            service = ClipService(session, info.context.job_service(session))
            job = await service.export_clips(ids, request)
        return Job.from_model(job)

    @strawberry.mutation(
        description=(
            "Trims or extends a clip: starts a job that cuts it again from the source to the "
            "new range (re-encoded, frame-exact). The clip keeps its id; its export, if any, "
            "is marked stale (exportStale) once the new cut is in place. A range outside the "
            "source, or with end <= start, is refused and nothing changes. When several are "
            "asked of one clip, the last one asked wins."
        )
    )
    async def update_clip(self, info: Info, id: strawberry.ID, input: UpdateClipInput) -> Job:
        info.context.profile()
        clip_id = parse_id(id, "Clip")
        request = UpdateClipRequest(
            start_seconds=input.start_seconds,
            end_seconds=input.end_seconds,
            snap_to_words=input.snap_to_words,
        )
        target = Target.of(ClipModel, clip_id, CLIP_NOT_FOUND)
        async with info.context.unit_of_work(target) as session:
            service = ClipService(session, info.context.job_service(session))
            job = await service.update_clip(clip_id, request)
        return Job.from_model(job)

    @strawberry.mutation(
        description=(
            "Deletes the clip with its export, its publications and their files. Its queued "
            "and running jobs (a re-cut, or an export or publication of this clip alone) are "
            "cancelled; an export or publication of several clips goes on without it."
        )
    )
    async def delete_clip(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        info.context.profile()
        clip_id = parse_id(id, "Clip")
        target = Target.of(ClipModel, clip_id, CLIP_NOT_FOUND)
        async with info.context.unit_of_work(target) as session:
            service = ClipService(session, info.context.job_service(session))
            deleted = await service.delete_clip(clip_id)
        # Files go once the row is gone for good (after the commit).
        storage = info.context.services.storage
        await storage.after_commit(storage.remove_clip(deleted.media_path, deleted.export_path))
        return strawberry.ID(str(clip_id))
