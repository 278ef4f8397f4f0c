"""The GraphQL context: identity, services, and the running operation's database gate."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from editai.auth.principal import Principal, ProfileContext
from editai.auth.resolver import Identity
from editai.db.targets import Target
from editai.graphql.operation import current_operation
from editai.jobs.service import JobService
from editai.runtime import Runtime
from editai.settings import Settings

if TYPE_CHECKING:
    from editai.graphql.loaders import Loaders


@dataclass
class Context:
    """What resolvers see. Database access goes through the running operation's gate
    (graphql/operation.py): an HTTP request is one operation; a WebSocket connection
    shares one Context among its operations, each with a gate of its own."""

    request: Request | WebSocket
    response: Response | None
    services: Runtime
    identity: Identity
    # graphql-transport-ws connection_init payload (strawberry fills it in).
    connection_params: dict[str, object] | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def principal(self) -> Principal:
        return self.identity.require_principal()

    def profile(self) -> ProfileContext:
        return self.identity.require_profile()

    def job_service(self, session: AsyncSession) -> JobService:
        return JobService(
            session,
            self.services.events,
            self.settings.job_max_attempts,
            self.settings.profile_storage_quota_bytes,
        )

    def db(self, *, end_transaction: bool = False) -> AbstractAsyncContextManager[AsyncSession]:
        """The session for a block of reads (see ``OperationDatabase.read``)."""
        return current_operation().read(end_transaction=end_transaction)

    def unit_of_work(self, *targets: Target) -> AbstractAsyncContextManager[AsyncSession]:
        """One mutation field = one transaction: committed when it returns, else rolled back.

        ``targets``: the rows the mutation names by id (see ``OperationDatabase.write``).
        """
        return current_operation().write(targets)

    @property
    def session(self) -> AsyncSession:
        """The operation's session, scoped to the principal's user and resolved profile.

        Fields must call ``principal()`` or ``profile()`` first, and use the session only
        inside ``db()`` / ``unit_of_work()`` blocks.
        """
        return current_operation().session

    @property
    def loaders(self) -> Loaders:
        return current_operation().loaders


Info = strawberry.Info[Context, None]
