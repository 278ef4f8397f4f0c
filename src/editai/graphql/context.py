"""Per-operation context: identity, one tenant-scoped session, fresh DataLoaders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from editai.auth.principal import Principal, ProfileContext
from editai.auth.resolver import Identity
from editai.jobs.service import JobService
from editai.runtime import Runtime
from editai.settings import Settings

if TYPE_CHECKING:
    from editai.graphql.loaders import Loaders


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | None
    services: Runtime
    identity: Identity
    # graphql-transport-ws connection_init payload (strawberry fills it in).
    connection_params: dict[str, object] | None = None
    _session: AsyncSession | None = field(default=None, repr=False)
    _loaders: Loaders | None = field(default=None, repr=False)
    # graphql-core resolves sibling fields concurrently; one AsyncSession must not be.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def principal(self) -> Principal:
        return self.identity.require_principal()

    def profile(self) -> ProfileContext:
        return self.identity.require_profile()

    def job_service(self, session: AsyncSession) -> JobService:
        return JobService(session, self.services.events, self.settings.job_max_attempts)

    @asynccontextmanager
    async def db(self, *, end_transaction: bool = False) -> AsyncIterator[AsyncSession]:
        """The session, held exclusively for the duration of the block (reads).

        ``end_transaction``: the read transaction ends with the block and its connection
        goes back to the pool, for a field that next waits on a provider (no connection
        or lock held meanwhile). A commit, not a rollback: rows sibling fields loaded
        stay usable (commits do not expire them). Always so on SQLite, where every
        transaction holds the database's write lock (``BEGIN IMMEDIATE``, db/engine.py).
        """
        async with self.lock:
            try:
                yield self.session
            finally:
                ends = end_transaction or self.services.settings.is_sqlite
                if ends and self.session.in_transaction():
                    await self.session.commit()  # nothing written: ends the read

    @property
    def session(self) -> AsyncSession:
        """The request's session, scoped to the principal's user and resolved profile.

        Fields must call ``principal()`` or ``profile()`` first; a session opened without
        a profile fails closed on every profile-scoped model.
        """
        if self._session is None:
            principal = self.identity.require_principal()
            profile_id = self.identity.profile.profile_id if self.identity.profile else None
            self._session = self.services.sessions.tenant(profile_id, principal.user_id)
        return self._session

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from editai.graphql.loaders import Loaders

            self._loaders = Loaders(self.session, self.lock)
        return self._loaders

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One mutation field = one transaction: committed when it returns, else rolled back."""
        async with self.lock:
            session = self.session
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            finally:
                # Loaders may hold pre-mutation rows; later fields must see fresh data.
                self._loaders = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._loaders = None


Info = strawberry.Info[Context, None]
