"""Job update events, across processes.

PostgreSQL: ``pg_notify`` inside the writing transaction (delivered on commit) and one
LISTEN connection per process fanning out to local subscribers. SQLite (one process):
an in-process fan-out. Three channels: a job changed, a job was queued (wake workers),
a job's cancellation was requested (stop its FFmpeg now).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from editai.db.tenancy import TenantSession
from editai.logging import get_logger

log = get_logger(__name__)


class Channel(StrEnum):
    UPDATED = "editai_job_updated"
    QUEUED = "editai_job_queued"
    CANCEL = "editai_job_cancel"


@dataclass(frozen=True, slots=True)
class JobEvent:
    channel: Channel
    job_id: uuid.UUID
    profile_id: uuid.UUID | None

    def encode(self) -> str:
        return f"{self.job_id}:{self.profile_id or ''}"

    @classmethod
    def decode(cls, channel: Channel, payload: str) -> JobEvent | None:
        job, _, profile = payload.partition(":")
        try:
            return cls(channel, uuid.UUID(job), uuid.UUID(profile) if profile else None)
        except ValueError:
            return None


_PENDING_KEY = "editai.job_events"


@event.listens_for(TenantSession, "after_commit")
def _deliver_committed(session: Session) -> None:
    for bus, job_event in session.info.pop(_PENDING_KEY, []):
        bus.deliver_local(job_event)


@event.listens_for(TenantSession, "after_rollback")
def _discard_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


class JobEventBus:
    """Fan-out to local subscribers; subclasses add the cross-process transport."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[JobEvent]] = set()
        self._pending: dict[int, list[JobEvent]] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def publish(self, session: AsyncSession, job_event: JobEvent) -> None:
        """Deliver ``job_event`` once the session's current transaction commits."""
        pending = session.sync_session.info.setdefault(_PENDING_KEY, [])
        pending.append((self, job_event))

    def deliver_local(self, job_event: JobEvent) -> None:
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(job_event)

    @contextlib.asynccontextmanager
    async def subscribe(self, maxsize: int = 1000) -> AsyncIterator[asyncio.Queue[JobEvent]]:
        queue: asyncio.Queue[JobEvent] = asyncio.Queue(maxsize=maxsize)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)


class PostgresJobEventBus(JobEventBus):
    def __init__(self, database_url: str) -> None:
        super().__init__()
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
        self._connection: asyncpg.Connection[Any] | None = None
        self._watchdog: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._connect()
        self._watchdog = asyncio.create_task(self._keep_listening())

    async def _connect(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        for channel in Channel:
            await connection.add_listener(channel.value, self._on_notify)
        self._connection = connection

    async def _keep_listening(self) -> None:
        # A dropped LISTEN connection silently stops notifications: reconnect.
        while True:
            await asyncio.sleep(5)
            if self._connection is None or self._connection.is_closed():
                try:
                    await self._connect()
                    log.info("job event listener reconnected")
                except (OSError, asyncpg.PostgresError) as exc:
                    log.warning("job event listener reconnect failed", reason=str(exc))

    def _on_notify(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        job_event = JobEvent.decode(Channel(channel), payload)
        if job_event is not None:
            self.deliver_local(job_event)

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        if self._connection is not None and not self._connection.is_closed():
            await self._connection.close()

    async def publish(self, session: AsyncSession, job_event: JobEvent) -> None:
        # Transactional: delivered on commit to every listening process, this one included.
        await session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": job_event.channel.value, "payload": job_event.encode()},
        )


def create_event_bus(database_url: str) -> JobEventBus:
    if database_url.startswith("postgresql"):
        return PostgresJobEventBus(database_url)
    return JobEventBus()
