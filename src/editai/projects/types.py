from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry

from editai.clips.types import Clip, ClipConnection
from editai.graphql.context import Info
from editai.graphql.ids import as_enum, as_graphql_id
from editai.graphql.loaders import ClipPageKey, when_loaded
from editai.graphql.relay import Connection, build_connection
from editai.media.downloads import download_url
from editai.pagination import PageRequest
from editai.projects.models import Project as ProjectModel
from editai.projects.models import ProjectStatus as ProjectStatusValue
from editai.segments.types import Segment
from editai.transcripts.types import Transcript
from editai.tts.types import Voiceover

strawberry.enum(ProjectStatusValue, name="ProjectStatus")
ProjectStatus = ProjectStatusValue


@strawberry.type(description="Technical facts of an uploaded video file.")
class VideoAsset:
    filename: str | None
    duration_seconds: float
    width: int
    height: int
    fps: float
    size_bytes: float = strawberry.field(description="Bytes (Float: may exceed 32-bit Int).")
    video_codec: str | None
    audio_codec: str | None
    codecs: list[str] = strawberry.field(
        description="Codec names of the streams: the video codec, then the audio codec if any."
    )
    download_url: str | None = strawberry.field(
        description="Signed, expiring URL of the file (relative to the server); "
        "answers HTTP Range requests."
    )


@strawberry.type
class Project:
    id: strawberry.ID
    name: str
    description: str | None
    status: ProjectStatus
    created_at: datetime
    updated_at: datetime
    _model: strawberry.Private[ProjectModel]

    @classmethod
    def from_model(cls, m: ProjectModel) -> Project:
        return cls(
            id=as_graphql_id(m.id),
            name=m.name,
            description=m.description,
            status=as_enum(ProjectStatus, m.status),
            created_at=m.created_at,
            updated_at=m.updated_at,
            _model=m,
        )

    @strawberry.field(description="The uploaded source video, or null before an upload.")
    def source_video(self, info: Info) -> VideoAsset | None:
        m = self._model
        if not m.source_path or m.source_duration_seconds is None:
            return None
        codecs = [c for c in (m.source_video_codec, m.source_audio_codec) if c]
        return VideoAsset(
            filename=m.source_filename,
            duration_seconds=m.source_duration_seconds,
            width=m.source_width or 0,
            height=m.source_height or 0,
            fps=m.source_fps or 0.0,
            size_bytes=float(m.source_size_bytes or 0),
            video_codec=m.source_video_codec,
            audio_codec=m.source_audio_codec,
            codecs=codecs,
            download_url=download_url(info.context.services, m.source_path, m.source_filename),
        )

    # Plain functions, not coroutines: see ``when_loaded``.
    @strawberry.field(description="Clips of this project, newest first.")
    def clips(self, info: Info, first: int | None = 20, after: str | None = None) -> ClipConnection:
        page = PageRequest.parse(first, after, info.context.settings.max_page_size)
        pending = info.context.loaders.clips_page.load(clips_page_key(self._model.id, page, after))
        return when_loaded(pending, lambda rows: _clip_connection(rows, page))

    @strawberry.field(description="Detected segments, in time order.")
    def segments(self, info: Info) -> list[Segment]:
        pending = info.context.loaders.segments.load(self._model.id)
        return when_loaded(pending, lambda rows: [Segment.from_model(s) for s in rows])

    @strawberry.field(description="Synthesized voice-overs of this project, newest first.")
    def voiceovers(self, info: Info) -> list[Voiceover]:
        pending = info.context.loaders.voiceovers.load(self._model.id)
        return when_loaded(pending, lambda rows: [Voiceover.from_model(v) for v in rows])

    @strawberry.field(
        description="What is said in the source video (transcribeVideo); null until a "
        "transcription succeeded, and again after a new source video is uploaded."
    )
    def transcript(self, info: Info) -> Transcript | None:
        pending = info.context.loaders.transcript.load(self._model.id)
        return when_loaded(pending, lambda t: Transcript.from_model(t) if t else None)


def clips_page_key(project_id: uuid.UUID, page: PageRequest, after: str | None) -> ClipPageKey:
    """The clips loader's key: one more row than the page, to know if another follows."""
    return (project_id, page.first + 1, after)


def _clip_connection(rows: list[Any], page: PageRequest) -> ClipConnection:
    return build_connection(
        ClipConnection,
        [Clip.from_model(c) for c in rows[: page.first]],
        has_next_page=len(rows) > page.first,
        has_previous_page=page.after is not None,
    )


@strawberry.type
class ProjectConnection(Connection[Project]):
    pass


@strawberry.input
class CreateProjectInput:
    name: str
    description: str | None = None


@strawberry.input(description="Only the fields given are changed. status ARCHIVED archives.")
class UpdateProjectInput:
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    status: ProjectStatus | None = strawberry.UNSET
