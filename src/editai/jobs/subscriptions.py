"""``jobUpdated``: live job updates over graphql-transport-ws."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry
from graphql import GraphQLError

from editai.errors import NotFound
from editai.graphql.context import Info
from editai.graphql.errors import log_errors, shape_error
from editai.graphql.ids import parse_id
from editai.jobs.events import Channel
from editai.jobs.models import Job as JobModel
from editai.jobs.models import JobStatus
from editai.jobs.repository import JobRepository
from editai.jobs.types import Job

FINISHED = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}
SENT_STATES_KEPT = 1000


@strawberry.type
class JobSubscription:
    @strawberry.subscription(
        description="Updates of one job (ends when it finishes), or of every job of the profile."
    )
    async def job_updated(
        self, info: Info, id: strawberry.ID | None = None
    ) -> AsyncGenerator[Job, None]:
        try:
            # aclosing: a client that completes closes the inner generator (and its
            # event-bus subscription) now, not whenever it is garbage-collected.
            async with aclosing(_job_updates(info, id)) as updates:
                async for job in updates:
                    yield job
        except Exception as exc:
            # The schema's ErrorShaping shapes results of operations, not the results a
            # subscription streams over the WebSocket: without this a NotFound would
            # arrive without its code, and an unexpected error unmasked.
            error = GraphQLError(str(exc), original_error=exc)
            log_errors([error])
            raise shape_error(error) from None


async def _job_updates(info: Info, id: strawberry.ID | None) -> AsyncGenerator[Job, None]:
    """The job's current state first (when ``id`` is given), then one item per change."""
    scope = info.context.profile()
    runtime = info.context.services
    wanted = parse_id(id, "Job") if id is not None else None

    async def load(job_id: uuid.UUID) -> JobModel | None:
        # A short session per event: a subscription may live for hours.
        async with runtime.sessions.tenant(scope.profile_id, scope.user_id) as session:
            return await JobRepository(session).get(job_id)

    # The state last sent per job (oldest first out: an all-jobs subscription lives long).
    sent: dict[uuid.UUID, tuple[object, ...]] = {}
    async with runtime.events.subscribe() as inbox:
        if wanted is not None:
            current = await load(wanted)
            if current is None:
                raise NotFound("Job not found")
            sent[current.id] = _state(current)
            yield Job.from_model(current)
            if current.status in FINISHED:
                return
        while True:
            event = await inbox.get()
            if event.channel is not Channel.UPDATED or event.profile_id != scope.profile_id:
                continue
            if wanted is not None and event.job_id != wanted:
                continue
            job = await load(event.job_id)
            if job is None:  # the hook and RLS decide, not the event's claim
                continue
            # Events outrun reads: two events read after the last change show one state
            # (e.g. a progress write's and the SUCCEEDED one's): sent once.
            state = _state(job)
            if sent.get(job.id) == state:
                continue
            sent[job.id] = state
            while len(sent) > SENT_STATES_KEPT:
                del sent[next(iter(sent))]
            yield Job.from_model(job)
            if wanted is not None and job.status in FINISHED:
                return


def _state(job: JobModel) -> tuple[object, ...]:
    return (job.status, job.progress, job.attempts, job.error, job.updated_at)
