from __future__ import annotations

from datetime import datetime

import strawberry

from editai.graphql.context import Info
from editai.graphql.ids import parse_id
from editai.jobs.types import Job
from editai.publishing.models import PublishMode as PublishModeValue
from editai.publishing.service import PublishingService, PublishRequest, postiz_channels
from editai.publishing.types import PublishMode


@strawberry.type
class PublishingMutation:
    @strawberry.mutation(
        description="Starts a job that uploads each clip (its export if it has one) to Postiz "
        "and posts it to every channel given, in one post per clip. `date` is required for "
        "SCHEDULE (in the future) and refused otherwise. The `publications` rows exist "
        "(PENDING) as soon as this returns."
    )
    async def publish_clips(
        self,
        info: Info,
        clip_ids: list[strawberry.ID],
        integration_ids: list[str],
        content: str,
        mode: PublishMode,
        date: datetime | None = None,
    ) -> Job:
        profile = info.context.profile()
        request = PublishRequest(
            clip_ids=[parse_id(i, "Clip") for i in clip_ids],
            integration_ids=list(integration_ids),
            content=content,
            mode=PublishModeValue(mode),
            date=date,
        )
        settings = info.context.settings
        async with info.context.db(end_transaction=True) as session:  # then Postiz
            prepared = await PublishingService(session, settings).prepare(
                request, profile.profile_id
            )
        channels = await postiz_channels(prepared.access, settings)
        async with info.context.unit_of_work() as session:
            service = PublishingService(session, settings)
            job = await service.publish(prepared, channels, info.context.job_service(session))
        return Job.from_model(job)
