"""Publishing rules: what may be published where, checked before any job exists.

``publishClips`` runs in three steps so no database connection waits on Postiz:
:meth:`PublishingService.prepare` (reads: input, clips, credentials), then
:func:`postiz_channels` (the profile's channels, from Postiz), then
:meth:`PublishingService.publish` (one transaction: the job and its PENDING rows).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from editai.clips.models import Clip, ClipStatus
from editai.clips.repository import ClipRepository
from editai.errors import AppError, BadUserInput, NotFound
from editai.integrations.credentials import credentials_for
from editai.integrations.errors import ProviderAuthError, ProviderError, ProviderRequestError
from editai.integrations.http import request_time_settings
from editai.jobs.models import Job, JobKind
from editai.jobs.service import JobService
from editai.pagination import Page, PageRequest
from editai.profiles.models import Profile
from editai.profiles.repository import ProfileRepository
from editai.publishing.models import Publication, PublicationStatus, PublishMode
from editai.publishing.postiz import PostizChannel, PostizClient
from editai.publishing.repository import PublicationRepository
from editai.settings import Settings

MAX_PUBLISH_CLIPS = 10  # Postiz allows ~30 API calls an hour; each clip costs two
MAX_PUBLISH_CHANNELS = 20
MAX_CONTENT_CHARS = 5000
MAX_INTEGRATION_ID_CHARS = 200  # the column's length
MAX_SCHEDULE_AHEAD = timedelta(days=366)


class PostizUnavailable(AppError):
    """Postiz could not answer now (down, slow, rate-limited): the message says which."""

    code = "INTERNAL_SERVER_ERROR"


@dataclass(frozen=True, slots=True)
class PostizAccess:
    """Plaintext URL and key: keep inside the request or job, never log or return."""

    url: str
    api_key: str

    def __repr__(self) -> str:
        return f"PostizAccess(url={self.url!r}, api_key=***)"


@dataclass(frozen=True, slots=True)
class PublishRequest:
    clip_ids: list[uuid.UUID]
    integration_ids: list[str]
    content: str
    mode: PublishMode
    date: datetime | None = None


@dataclass(frozen=True, slots=True)
class PreparedPublish:
    request: PublishRequest
    access: PostizAccess
    scheduled_at: datetime | None


def postiz_access(profile: Profile | None, settings: Settings) -> PostizAccess:
    """The profile's Postiz URL and key, else the global ones; BAD_USER_INPUT if neither."""
    credentials = credentials_for(profile, settings)
    if not credentials.postiz_api_url or not credentials.postiz_api_key:
        raise BadUserInput(
            "Postiz is not configured for this profile: set its postizApiUrl and postizApiKey "
            "(or the server's EDITAI_POSTIZ_API_URL and EDITAI_POSTIZ_API_KEY)",
            field="postizApiKey",
        )
    return PostizAccess(credentials.postiz_api_url, credentials.postiz_api_key)


async def profile_postiz_access(
    session: AsyncSession, profile_id: uuid.UUID, settings: Settings
) -> PostizAccess:
    """For a request: its session is scoped to the user, who owns the profile."""
    return postiz_access(await ProfileRepository(session).get(profile_id), settings)


async def postiz_channels(access: PostizAccess, settings: Settings) -> list[PostizChannel]:
    """``GET /integrations`` during a request; provider failures become readable errors."""
    client = PostizClient(
        access.url,
        access.api_key,
        request_time_settings(settings),  # a request must not hang on Postiz
    )
    try:
        async with client:
            return await client.integrations()
    except ProviderAuthError as exc:
        raise BadUserInput(
            f"{exc.message}. Check the profile's Postiz API key", field="postizApiKey"
        ) from exc
    except ProviderRequestError as exc:
        raise BadUserInput(
            f"{exc.message}. Check the profile's Postiz API URL", field="postizApiUrl"
        ) from exc
    except ProviderError as exc:
        raise PostizUnavailable(exc.message) from exc


def check_request(request: PublishRequest, now: datetime) -> datetime | None:
    """Rules on the input alone; returns when a SCHEDULE post goes out."""
    if not request.clip_ids:
        raise BadUserInput("Give at least one clip to publish", field="clipIds")
    if len(request.clip_ids) > MAX_PUBLISH_CLIPS:
        raise BadUserInput(f"At most {MAX_PUBLISH_CLIPS} clips per publish", field="clipIds")
    if len(set(request.clip_ids)) != len(request.clip_ids):
        raise BadUserInput("A clip is listed twice", field="clipIds")
    if not request.integration_ids:
        raise BadUserInput("Give at least one channel (integration)", field="integrationIds")
    if len(request.integration_ids) > MAX_PUBLISH_CHANNELS:
        raise BadUserInput(
            f"At most {MAX_PUBLISH_CHANNELS} channels per publish", field="integrationIds"
        )
    for integration_id in request.integration_ids:
        if not integration_id.strip() or integration_id != integration_id.strip():
            raise BadUserInput("Integration ids must be non-empty", field="integrationIds")
        if len(integration_id) > MAX_INTEGRATION_ID_CHARS:
            raise BadUserInput(
                f"Integration ids are at most {MAX_INTEGRATION_ID_CHARS} characters",
                field="integrationIds",
            )
    if len(set(request.integration_ids)) != len(request.integration_ids):
        raise BadUserInput("A channel is listed twice", field="integrationIds")
    if not request.content.strip():
        raise BadUserInput("content must not be empty", field="content")
    if len(request.content) > MAX_CONTENT_CHARS:
        raise BadUserInput(
            f"content must be at most {MAX_CONTENT_CHARS} characters", field="content"
        )
    if request.mode is not PublishMode.SCHEDULE:
        # Refused, not ignored: a date sent with NOW or DRAFT is most likely a mistake.
        if request.date is not None:
            raise BadUserInput("date is only used with mode SCHEDULE", field="date")
        return None
    if request.date is None:
        raise BadUserInput("mode SCHEDULE needs a date", field="date")
    # A date without a zone is taken as UTC (the API's DateTime is ISO-8601).
    date = request.date if request.date.tzinfo else request.date.replace(tzinfo=UTC)
    if date <= now:
        raise BadUserInput("date must be in the future", field="date")
    if date > now + MAX_SCHEDULE_AHEAD:
        raise BadUserInput("date must be within a year", field="date")
    return date.astimezone(UTC)


def clip_file(clip: Clip) -> str | None:
    """What is published: the export when there is one, else the raw clip."""
    return clip.export_path or clip.media_path


class PublishingService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repo = PublicationRepository(session)
        self.clips = ClipRepository(session)

    async def prepare(self, request: PublishRequest, profile_id: uuid.UUID) -> PreparedPublish:
        """Every check that needs no Postiz call (reads only)."""
        scheduled_at = check_request(request, datetime.now(UTC))
        await self._publishable(request.clip_ids)
        access = await profile_postiz_access(self.session, profile_id, self.settings)
        return PreparedPublish(request, access, scheduled_at)

    async def publish(
        self, prepared: PreparedPublish, channels: Sequence[PostizChannel], jobs: JobService
    ) -> Job:
        """The job and one PENDING row per clip and channel, in the caller's transaction."""
        request = prepared.request
        known = {c.id: c for c in channels}
        for integration_id in request.integration_ids:
            channel = known.get(integration_id)
            if channel is None:
                raise BadUserInput(
                    f"Postiz has no channel {integration_id!r} for this profile",
                    field="integrationIds",
                )
            if channel.disabled:
                raise BadUserInput(
                    f"The Postiz channel {channel.name or integration_id!r} is disabled",
                    field="integrationIds",
                )
        clips = await self._publishable(request.clip_ids)  # again: one may be gone since
        projects = {c.project_id for c in clips}
        job = await jobs.enqueue(
            JobKind.PUBLISH_CLIPS,
            next(iter(projects)) if len(projects) == 1 else None,
            {
                "clip_ids": [str(i) for i in request.clip_ids],
                "integration_ids": request.integration_ids,
                "mode": request.mode.value,
                "date": prepared.scheduled_at.isoformat() if prepared.scheduled_at else None,
            },
        )
        self.repo.add_all(
            [
                Publication(
                    clip_id=clip_id,
                    job_id=job.id,
                    integration_id=integration_id,
                    integration_provider=known[integration_id].provider,
                    mode=request.mode,
                    content=request.content,
                    status=PublicationStatus.PENDING,
                    scheduled_at=prepared.scheduled_at,
                )
                for clip_id in request.clip_ids
                for integration_id in request.integration_ids
            ]
        )
        await self.session.flush()
        return job

    async def _publishable(self, clip_ids: Sequence[uuid.UUID]) -> list[Clip]:
        found = {c.id: c for c in await self.clips.get_many(list(clip_ids))}
        if any(i not in found for i in clip_ids):
            raise NotFound("Clip not found")
        clips = [found[i] for i in clip_ids]
        for clip in clips:
            if clip.status not in (ClipStatus.READY, ClipStatus.EXPORTED) or not clip_file(clip):
                raise BadUserInput("Only rendered clips can be published", field="clipIds")
        return clips

    async def list(
        self,
        page: PageRequest,
        *,
        job_id: uuid.UUID | None,
        clip_id: uuid.UUID | None,
        status: PublicationStatus | None,
        jobs: JobService,
    ) -> Page[Publication]:
        # A filter naming a job or clip the profile cannot see is NOT_FOUND, like elsewhere.
        if job_id is not None:
            await jobs.get(job_id)
        if clip_id is not None and await self.clips.get(clip_id) is None:
            raise NotFound("Clip not found")
        return await self.repo.list(page, job_id=job_id, clip_id=clip_id, status=status)
