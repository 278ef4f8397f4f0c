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
