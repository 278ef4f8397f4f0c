from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from editai.clips.models import Clip as ClipModel
from editai.clips.models import ClipAspect as ClipAspectValue
from editai.clips.models import ClipLayout as ClipLayoutValue
from editai.clips.models import ClipStatus as ClipStatusValue
from editai.clips.models import MultipleFaces as MultipleFacesValue
from editai.clips.models import Reframe as ReframeValue
from editai.errors import NotFound
from editai.graphql.context import Info
from editai.graphql.ids import as_enum, as_graphql_id
from editai.graphql.loaders import when_loaded
from editai.graphql.relay import Connection
from editai.media.downloads import download_url
from editai.transcripts.types import Transcript

if TYPE_CHECKING:
    from editai.projects.types import Project
    from editai.publishing.types import Publication

strawberry.enum(
    ClipAspectValue, name="ClipAspect", description="SOURCE keeps the source frame; Rw_h crops."
)
ClipAspect = ClipAspectValue
strawberry.enum(ClipStatusValue, name="ClipStatus")
ClipStatus = ClipStatusValue
strawberry.enum(
    ReframeValue,
    name="Reframe",
    description="CENTER: the crop stays centred. FACE: it follows the speaker's face.",
)
Reframe = ReframeValue
strawberry.enum(
    ClipLayoutValue,
    name="ClipLayout",
    description="CROP fills the frame with a crop; FIT_BLUR shows the whole source frame "
    "scaled to fit, over a blurred copy of itself.",
)
ClipLayout = ClipLayoutValue
strawberry.enum(
    MultipleFacesValue,
    name="MultipleFaces",
    description="What a FACE clip shows in a shot with two or more faces.",
)
MultipleFaces = MultipleFacesValue


@strawberry.type
class Clip:
    id: strawberry.ID
    variant_index: int
    start_seconds: float
    end_seconds: float
    aspect: ClipAspect
    reframe: Reframe
    layout: ClipLayout
    multiple_faces: MultipleFaces
    status: ClipStatus
    created_at: datetime
    _model: strawberry.Private[ClipModel]

    @classmethod
    def from_model(cls, m: ClipModel) -> Clip:
        # A page builds a hundred of these: the id stays a UUID (the ID scalar serializes
        # it as str(uuid), only if selected) and enums are converted only if not already.
        return cls(
            id=as_graphql_id(m.id),
            variant_index=m.variant_index,
            start_seconds=m.start_seconds,
            end_seconds=m.end_seconds,
            aspect=as_enum(ClipAspect, m.aspect),
            reframe=as_enum(Reframe, m.reframe),
            layout=as_enum(ClipLayout, m.layout),
            multiple_faces=as_enum(MultipleFaces, m.multiple_faces),
            status=as_enum(ClipStatus, m.status),
            created_at=m.created_at,
            _model=m,
        )

    @strawberry.field
    def duration_seconds(self) -> float:
        return self.end_seconds - self.start_seconds

    @strawberry.field(
        description="Signed, expiring URL of the clip file (the export when there is one "
        "and it is not stale); null until rendered. Answers HTTP Range requests."
    )
    def download_url(self, info: Info) -> str | None:
        model = self._model
        export = None if model.export_stale else model.export_path
        return download_url(info.context.services, export or model.media_path)

    @strawberry.field(
        description="The clip was trimmed or extended (updateClip) after its export was made: "
        "the export shows the old range until the clip is exported again."
    )
    def export_stale(self) -> bool:
        return bool(self._model.export_stale)

    @strawberry.field
    async def project(
        self, info: Info
    ) -> Annotated[Project, strawberry.lazy("editai.projects.types")]:
        from editai.projects.types import Project

        project = await info.context.loaders.project.load(self._model.project_id)
        if project is None:  # pragma: no cover - FK + same-profile composite key
            raise NotFound("Project not found")
        return Project.from_model(project)

    @strawberry.field(
        description="The words of the project's transcript inside this clip, with times "
        "relative to the clip's start; null when the project has no transcript."
    )
    def transcript(self, info: Info) -> Transcript | None:
        m = self._model
        pending = info.context.loaders.transcript.load(m.project_id)
        return when_loaded(
            pending,
            lambda t: Transcript.for_range(t, m.start_seconds, m.end_seconds) if t else None,
        )

    @strawberry.field(description="Where the clip was published (Postiz), newest first.")
    async def publications(
        self, info: Info
    ) -> list[Annotated[Publication, strawberry.lazy("editai.publishing.types")]]:
        from editai.publishing.types import Publication

        rows = await info.context.loaders.publications.load(self._model.id)
        return [Publication.from_model(p) for p in rows]


@strawberry.type
class ClipConnection(Connection[Clip]):
    pass
