from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from editai.errors import NotFound
from editai.graphql.context import Info
from editai.graphql.relay import Connection
from editai.publishing.models import Publication as PublicationModel
from editai.publishing.models import PublicationStatus as PublicationStatusValue
from editai.publishing.models import PublishMode as PublishModeValue
from editai.publishing.postiz import PostizChannel

if TYPE_CHECKING:
    from editai.clips.types import Clip

strawberry.enum(
    PublishModeValue,
    name="PublishMode",
    description="NOW posts at once; SCHEDULE posts at `date`; DRAFT leaves a draft in Postiz.",
)
PublishMode = PublishModeValue
strawberry.enum(
    PublicationStatusValue,
    name="PublicationStatus",
    description="PENDING until Postiz accepts the post; then PUBLISHED (NOW), SCHEDULED or "
    "DRAFT; FAILED with `error` when it could not be posted.",
)
PublicationStatus = PublicationStatusValue


@strawberry.type(description="A channel (social account) connected in the profile's Postiz.")
class PostizIntegration:
    id: str
    name: str
    provider: str = strawberry.field(description='Postiz\'s identifier: "x", "linkedin", ...')
    picture: str | None
    disabled: bool

    @classmethod
    def from_channel(cls, c: PostizChannel) -> PostizIntegration:
        return cls(
            id=c.id, name=c.name, provider=c.provider, picture=c.picture, disabled=c.disabled
        )


@strawberry.type(description="One clip posted to one Postiz channel by one publishClips job.")
class Publication:
    id: strawberry.ID
    job_id: strawberry.ID | None = strawberry.field(
        description="The publishClips job; null once that job's history is gone."
    )
    integration_id: str
    integration_provider: str | None
    mode: PublishMode
    status: PublicationStatus
    content: str
    postiz_post_id: str | None
    scheduled_at: datetime | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    _model: strawberry.Private[PublicationModel]

    @classmethod
    def from_model(cls, m: PublicationModel) -> Publication:
        return cls(
            id=strawberry.ID(str(m.id)),
            job_id=strawberry.ID(str(m.job_id)) if m.job_id else None,
            integration_id=m.integration_id,
            integration_provider=m.integration_provider,
            mode=PublishMode(m.mode),
            status=PublicationStatus(m.status),
            content=m.content,
            postiz_post_id=m.postiz_post_id,
            scheduled_at=m.scheduled_at,
            error=m.error,
            created_at=m.created_at,
            updated_at=m.updated_at,
            _model=m,
        )

    @strawberry.field
    async def clip(self, info: Info) -> Annotated[Clip, strawberry.lazy("editai.clips.types")]:
        from editai.clips.types import Clip

        clip = await info.context.loaders.clip.load(self._model.clip_id)
        if clip is None:  # pragma: no cover - the row goes with its clip (CASCADE)
            raise NotFound("Clip not found")
        return Clip.from_model(clip)


@strawberry.type
class PublicationConnection(Connection[Publication]):
    pass
