"""Turns request headers into a verified Principal and a ProfileContext (DESIGN §4)."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from editai.auth.principal import Principal, ProfileContext
from editai.auth.tokens import TokenVerifier, bearer_token
from editai.db.connection_health import retry_on_connection_loss
from editai.db.scope_on_begin import begin_now, is_profile_refused
from editai.db.tenancy import SessionFactory, enter_profile, tenant_role_of
from editai.errors import AppError, Forbidden, NotFound, Unauthenticated
from editai.profiles.repository import AccountRepository
from editai.settings import Settings

if TYPE_CHECKING:
    from editai.graphql.operation import OperationDatabase

# The identity read is safe to repeat (a read, then an idempotent ensure): a pooled
# connection the database dropped while it was in flight costs a retry, not the request.
IDENTITY_RETRY_SECONDS = 2.0
# The id an X-Profile-Id that is no UUID is looked up as: no profile has it.
NO_SUCH_PROFILE = uuid.UUID(int=0)


@dataclass(slots=True)
class Identity:
    """Outcome of authentication; errors are kept, and raised only by fields that need them."""

    principal: Principal | None = None
    auth_error: AppError | None = None
    profile: ProfileContext | None = None
    profile_error: AppError | None = None

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise self.auth_error or Unauthenticated()
        return self.principal

    def session_scope(self) -> tuple[uuid.UUID | None, uuid.UUID]:
        """(profile id or None, user id) for the operation's session; raises if anonymous."""
        principal = self.require_principal()
        return (self.profile.profile_id if self.profile else None), principal.user_id

    def require_profile(self) -> ProfileContext:
        self.require_principal()
        if self.profile is None:
            raise self.profile_error or NotFound("Profile not found")
        return self.profile


class IdentityResolver:
    def __init__(self, settings: Settings, sessions: SessionFactory, verifier: TokenVerifier):
        self.settings = settings
        self.sessions = sessions
        self.verifier = verifier

    async def resolve(
        self,
        authorization: str | None,
        profile_header: str | None,
        operation: OperationDatabase | None = None,
    ) -> Identity:
        """``operation``: the request's database gate, when it has one. On PostgreSQL the
        profile lookup is then the first statement of the operation's own transaction,
        and publishes its scope (one connection and three round trips less per request)."""
        identity = Identity()
        try:
            identity.principal = await self._authenticate(authorization)
        except Unauthenticated as exc:
            identity.auth_error = exc
            return identity
        if identity.principal is None:
            return identity
        if self.sessions.engine.dialect.name != "postgresql":
            operation = None  # SQLite: reads and writes take their own transactions
        try:
            identity.profile = await self._profile(identity.principal, profile_header, operation)
        except (NotFound, Forbidden) as exc:
            identity.profile_error = exc
        return identity

    async def _authenticate(self, authorization: str | None) -> Principal | None:
        if self.settings.auth_disabled:
            return Principal(uuid.UUID(self.settings.dev_user_id), self.settings.dev_user_email)
        token = bearer_token(authorization)
        if token is None:
            return None
        return await self.verifier.verify(token)

    async def _profile(
        self, principal: Principal, header: str | None, operation: OperationDatabase | None
    ) -> ProfileContext:
        requested: uuid.UUID | None = None
        invalid_header = False
        if header is not None and header.strip():
            try:
                requested = uuid.UUID(header.strip())
            except ValueError:
                invalid_header = True
        if operation is not None and requested is not None:
            # The profile the request names, checked by the database on the BEGIN of the
            # operation's own transaction: no identity statement. Refused, the full lookup
            # below says why (NOT_FOUND, FORBIDDEN) and meets a user seen for the first time.
            entered = functools.partial(self._enter_named, operation, principal, requested)
            if await retry_on_connection_loss(
                entered, what="profile check", within=IDENTITY_RETRY_SECONDS
            ):
                return ProfileContext(requested, principal.user_id)
        if operation is not None:
            # A header that is no UUID enters no profile: looked up as one nobody has.
            asked = NO_SUCH_PROFILE if invalid_header else requested
            lookup = functools.partial(self._lookup_and_enter, operation, principal, asked)
        else:
            lookup = functools.partial(self._lookup, principal, requested)
        default_id, owner = await retry_on_connection_loss(
            lookup, what="identity lookup", within=IDENTITY_RETRY_SECONDS
        )
        if invalid_header:
            raise NotFound("Profile not found")
        if requested is None:
            if default_id is None:  # pragma: no cover - ensured just above
                raise RuntimeError("default profile missing after creation")
            return ProfileContext(default_id, principal.user_id)
        if owner is None:
            raise NotFound("Profile not found")
        if owner != principal.user_id:
            raise Forbidden("This profile belongs to another user")
        return ProfileContext(requested, principal.user_id)

    async def _lookup(
        self, principal: Principal, requested: uuid.UUID | None
    ) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        """(the user's default profile, the owner of ``requested``), creating the user and
        a default profile on first sight."""
        # System session: resolving a profile id has to look across users to tell
        # "not yours" (FORBIDDEN) from "does not exist" (NOT_FOUND).
        # A read first (on SQLite it takes no lock); the write only for a new user.
        async with self.sessions.system_read() as session:
            default_id, owner = await AccountRepository(session).lookup(
                principal.user_id, requested
            )
        if default_id is None:
            default_id, owner = await self._first_sight(principal, requested)
        return default_id, owner

    async def _enter_named(
        self, operation: OperationDatabase, principal: Principal, requested: uuid.UUID
    ) -> bool:
        """Opens the operation's session in ``requested`` if the database finds it to be the
        user's (on its first transaction's BEGIN); False, with nothing opened, if not."""
        try:
            async with operation.entering(principal.user_id, requested) as session:
                await begin_now(await session.connection())
        except Exception as exc:
            if is_profile_refused(exc):
                return False
            raise
        return True

    async def _lookup_and_enter(
        self, operation: OperationDatabase, principal: Principal, requested: uuid.UUID | None
    ) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        """``_lookup`` in the operation's first transaction, which it scopes (PostgreSQL)."""
        for _ in range(2):
            try:
                async with operation.entering(principal.user_id) as session:
                    default_id, owner = await AccountRepository(session).lookup_and_enter(
                        principal.user_id, requested, tenant_role_of(session)
                    )
                    if default_id is None:
                        # Its transaction now runs as the tenant role: start afresh once
                        # the user exists.
                        raise _FirstSight()
                    if requested is None:
                        enter_profile(session, default_id)
                    else:
                        enter_profile(session, requested if owner == principal.user_id else None)
                    return default_id, owner
            except _FirstSight:
                await self._first_sight(principal, requested)
        raise RuntimeError("default profile missing after creation")  # pragma: no cover

    async def _first_sight(
        self, principal: Principal, requested: uuid.UUID | None
    ) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        async with self.sessions.system_transaction() as session:
            accounts = AccountRepository(session)
            await accounts.ensure_user_with_default_profile(principal.user_id, principal.email)
            return await accounts.lookup(principal.user_id, requested)


class _FirstSight(Exception):
    """The caller has no user row yet (first request with this token's subject)."""
