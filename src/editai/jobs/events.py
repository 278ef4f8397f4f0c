"""Job update events, across processes.

PostgreSQL: ``pg_notify`` inside the writing transaction (delivered on commit) and one
LISTEN connection per process fanning out to local subscribers. SQLite (one process):
an in-process fan-out. Three channels: a job changed, a job was queued (wake workers),
a job's cancellation was requested (stop its FFmpeg now).

A LISTEN connection the database drops (restart, failover, ``pg_terminate_backend``) is
replaced at once, and what was published while it was gone is caught up from the
``jobs`` table: NOTIFYs are not queued for a listener that is not connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from editai.db.base import utcnow
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


# Names the LISTEN connection in pg_stat_activity (operators, and the tests that kill it).
LISTEN_APPLICATION_NAME = "editai-job-events"
# A closed connection is normally reported at once (termination listener); this is the
# fallback check, and the longest reconnect delay while the database stays away.
CHECK_SECONDS = 5.0
# Rows changed this long before the connection was found lost are caught up too: the
# jobs' timestamps come from the writers' clocks, which may run a little behind.
CATCH_UP_MARGIN = timedelta(seconds=2)
CATCH_UP_LIMIT = 1000

# What changed while nobody listened: replayed as the events those writes published.
_CHANGED_SINCE = """
    SELECT id, profile_id, status::text AS status, cancel_requested
    FROM jobs WHERE updated_at >= $1 ORDER BY updated_at LIMIT $2
"""


class PostgresJobEventBus(JobEventBus):
    def __init__(self, database_url: str) -> None:
        super().__init__()
        self._dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
        self._connection: asyncpg.Connection[Any] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        # The last moment the connection was known to be listening.
        self._listening_at = utcnow()

    async def start(self) -> None:
        await self._connect()
        self._watchdog = asyncio.create_task(self._keep_listening())

    async def _connect(self) -> None:
        connection = await asyncpg.connect(
            self._dsn,
            timeout=CHECK_SECONDS,
            server_settings={"application_name": LISTEN_APPLICATION_NAME},
        )
        try:
            for channel in Channel:
                await connection.add_listener(channel.value, self._on_notify)
        except BaseException:
            connection.terminate()
            raise
        connection.add_termination_listener(self._on_terminated)
        self._connection = connection
        self._listening_at = utcnow()

    def _on_terminated(self, connection: Any) -> None:
        if connection is self._connection:
            self._listening_at = utcnow()
            self._lost.set()

    async def _keep_listening(self) -> None:
        # A dropped LISTEN connection silently stops notifications: reconnect at once.
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CHECK_SECONDS):
                    await self._lost.wait()
            self._lost.clear()
            connection = self._connection
            if connection is not None and not connection.is_closed():
                self._listening_at = utcnow()
                continue
            await self._reconnect(lost_since=self._listening_at)

    async def _reconnect(self, lost_since: datetime) -> None:
        loop = asyncio.get_running_loop()
        started, delay = loop.time(), 0.0
        while True:
            try:
                await self._connect()
                break
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                delay = min(max(delay * 2, 0.1), CHECK_SECONDS)
                log.warning(
                    "job event listener reconnect failed", reason=str(exc), retry_in_seconds=delay
                )
                await asyncio.sleep(delay)
        log.warning(
            "job event listener reconnected",
            after_seconds=round(loop.time() - started, 3),
        )
        try:
            replayed = await self._catch_up(lost_since - CATCH_UP_MARGIN)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Lost again already: the next reconnect catches up from the same moment.
            log.warning("job event catch-up failed", reason=str(exc))
            self._listening_at = lost_since
            self._lost.set()
            return
        if replayed:
            log.info("job events caught up after reconnecting", jobs=replayed)

    async def _catch_up(self, since: datetime) -> int:
        """Deliver locally what the jobs changed since ``since`` published (the NOTIFYs
        sent while no connection listened are gone): subscribers re-read the job, so an
        extra event costs a read, a missing one a stale screen or an idle worker."""
        assert self._connection is not None
        rows = await self._connection.fetch(_CHANGED_SINCE, since, CATCH_UP_LIMIT)
        for row in rows:
            job_id, profile_id = row["id"], row["profile_id"]
            self.deliver_local(JobEvent(Channel.UPDATED, job_id, profile_id))
            if row["status"] == "QUEUED":
                self.deliver_local(JobEvent(Channel.QUEUED, job_id, profile_id))
            elif row["status"] == "RUNNING" and row["cancel_requested"]:
                self.deliver_local(JobEvent(Channel.CANCEL, job_id, profile_id))
        return len(rows)

    def _on_notify(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        job_event = JobEvent.decode(Channel(channel), payload)
        if job_event is not None:
            self.deliver_local(job_event)

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            await connection.close()

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
