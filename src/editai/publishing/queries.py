from __future__ import annotations

import strawberry

from editai.graphql.context import Info
from editai.graphql.ids import parse_id
from editai.graphql.relay import build_connection
from editai.pagination import PageRequest
from editai.publishing.models import PublicationStatus as PublicationStatusValue
from editai.publishing.service import PublishingService, postiz_channels, profile_postiz_access
from editai.publishing.types import (
    PostizIntegration,
    Publication,
    PublicationConnection,
    PublicationStatus,
)


@strawberry.type
class PublishingQuery:
    @strawberry.field(
        description="The channels connected in the profile's Postiz (its own URL and key, "
        "else the server's). BAD_USER_INPUT when Postiz is not configured or rejects the key."
    )
    async def postiz_integrations(self, info: Info) -> list[PostizIntegration]:
        profile = info.context.profile()
        async with info.context.db(end_transaction=True) as session:  # then Postiz
            access = await profile_postiz_access(session, profile.profile_id, info.context.settings)
        channels = await postiz_channels(access, info.context.settings)
        return [PostizIntegration.from_channel(c) for c in channels]

    @strawberry.field(
        description="The profile's publications, newest first; filter by the publishClips "
        "job, the clip or the status."
    )
    async def publications(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        job_id: strawberry.ID | None = None,
        clip_id: strawberry.ID | None = None,
        status: PublicationStatus | None = None,
    ) -> PublicationConnection:
        info.context.profile()
        page = PageRequest.parse(first, after, info.context.settings.max_page_size)
        job = parse_id(job_id, "Job") if job_id is not None else None
        clip = parse_id(clip_id, "Clip") if clip_id is not None else None
        async with info.context.db() as session:
            result = await PublishingService(session, info.context.settings).list(
                page,
                job_id=job,
                clip_id=clip,
                status=PublicationStatusValue(status) if status else None,
                jobs=info.context.job_service(session),
            )
        return build_connection(
            PublicationConnection,
            [Publication.from_model(p) for p in result.items],
            has_next_page=result.has_next_page,
            has_previous_page=result.has_previous_page,
        )
