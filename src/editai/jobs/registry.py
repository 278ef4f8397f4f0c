"""Task handlers by job kind. A domain registers its background work with ``@task``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from editai.jobs.queue import ClaimedJob

if TYPE_CHECKING:
    from editai.integrations.credentials import ProviderCredentials
    from editai.profiles.models import Profile
    from editai.runtime import Runtime

JobResult = dict[str, Any]


class JobFailedError(Exception):
    """A task's readable, permanent failure (bad input discovered late): no retry."""


@dataclass
class JobContext:
    job: ClaimedJob
    runtime: Runtime
    temp_dir: Path
    report_progress: Callable[[float], Awaitable[None]]

    @property
    def profile_id(self) -> uuid.UUID:
        if self.job.profile_id is None:
            raise JobFailedError("The profile of this job no longer exists")
        return self.job.profile_id

    async def profile(self) -> Profile:
        """The job's own profile row.

        Profiles are user-scoped and a job's session knows its profile but no user, so this
        one row is read through an explicit system session, by the profile id the server
        wrote on the job row (nothing from input).
        """
        from editai.profiles.repository import ProfileRepository

        async with self.runtime.sessions.system_transaction() as session:
            profile = await ProfileRepository(session).get(self.profile_id)
        if profile is None:
            raise JobFailedError("The profile of this job no longer exists")
        return profile

    async def credentials(self) -> ProviderCredentials:
        """The profile's provider keys and choices (else the global ones), read at run time."""
        from editai.integrations.credentials import credentials_for

        return credentials_for(await self.profile(), self.runtime.settings)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A transaction scoped to the job's profile (hook + RLS, like a request)."""
        async with self.runtime.sessions.tenant_transaction(self.profile_id, None) as session:
            yield session


TaskHandler = Callable[[JobContext], Awaitable[JobResult]]

_HANDLERS: dict[str, TaskHandler] = {}


def task(kind: str) -> Callable[[TaskHandler], TaskHandler]:
    def register(handler: TaskHandler) -> TaskHandler:
        if kind in _HANDLERS and _HANDLERS[kind] is not handler:
            raise ValueError(f"two handlers for job kind {kind!r}")
        _HANDLERS[kind] = handler
        return handler

    return register


def handlers() -> dict[str, TaskHandler]:
    # Importing the task modules registers them.
    import editai.jobs.tasks  # noqa: F401

    return dict(_HANDLERS)
