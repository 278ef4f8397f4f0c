"""One GraphQL operation's database access: its session, transactions and DataLoaders.

Why this shape. graphql-core resolves sibling fields concurrently and, when a non-null
field fails, returns the operation's result while siblings (and DataLoader batches,
which run in tasks of their own) are still running. Whatever closes the session at
"the end of the operation" can therefore race resolvers that still use it; that race
once left SQLite's write lock held and asyncpg connections ``idle in transaction``.

So an operation reaches its session only through one gate, ``OperationDatabase``:

- every use is a block (``read()``, ``write()``), and blocks run one at a time (an
  ``AsyncSession`` must never be used concurrently);
- ending the operation (``close()``) marks the gate ended, then takes the last turn:
  it waits for the block in progress and releases the session; blocks that were
  still waiting, or start later, are refused with ``OperationEnded`` and never touch
  the session (their results are discarded by graphql-core anyway);
- the session is created with ``close_resets_only=False``, so a stray reference used
  outside the gate after the end raises instead of silently checking out a connection
  that nobody would return.

The code that runs an operation owns its gate and closes it in ``finally``: the HTTP
view for a request, the WebSocket handler for each operation on a connection. Every
ending (success, field error, client gone, cancellation, timeout) goes through there.

On SQLite a read block runs in a deferred (read-only, WAL snapshot) transaction that
ends with the block, so readers never hold or wait for the write lock; a write block
takes the write lock up front (``BEGIN IMMEDIATE``, see db/engine.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from editai.db.engine import begin_sqlite_transaction
from editai.db.targets import Target, require_targets
from editai.db.tenancy import SessionFactory
from editai.logging import get_logger

if TYPE_CHECKING:
    from editai.graphql.loaders import Loaders

log = get_logger(__name__)

ScopeSource = Callable[[], tuple[uuid.UUID | None, uuid.UUID]]
"""Returns (profile id or None, user id) of the operation; raises if unauthenticated."""


class OperationEnded(RuntimeError):
    """A resolver reached for the database after its operation had ended."""

    def __init__(self) -> None:
        super().__init__("the operation has ended; its database session is closed")


class OperationDatabase:
    def __init__(self, sessions: SessionFactory, scope: ScopeSource) -> None:
        self._sessions = sessions
        self._scope = scope
        self._sqlite = sessions.engine.dialect.name == "sqlite"
        self._session: AsyncSession | None = None
        self._loaders: Loaders | None = None
        self._turn = asyncio.Lock()
        self._ended = False
        self._closing: asyncio.Future[None] | None = None

    @property
    def session(self) -> AsyncSession:
        """The operation's session (created on first use; no I/O). Use it inside a block."""
        if self._ended:
            raise OperationEnded()
        if self._session is None:
            profile_id, user_id = self._scope()
            self._session = self._sessions.tenant(profile_id, user_id, reusable=False)
        return self._session

    @property
    def loaders(self) -> Loaders:
        """This operation's DataLoaders (their caches are tenant data: never shared)."""
        if self._loaders is None:
            from editai.graphql.loaders import Loaders

            self._loaders = Loaders(self)
        return self._loaders

    @contextlib.asynccontextmanager
    async def read(self, *, end_transaction: bool = False) -> AsyncIterator[AsyncSession]:
        """A block of reads.

        ``end_transaction``: the transaction ends with the block and its connection goes
        back to the pool (for a field that next waits on a provider). A commit, not a
        rollback: rows sibling fields loaded stay usable. Always so on SQLite.
        """
        async with self._block() as session:
            if self._sqlite:
                await begin_sqlite_transaction(session, write=False)
            try:
                yield session
            finally:
                if (end_transaction or self._sqlite) and session.in_transaction():
                    await session.commit()  # nothing written: just ends the read

    @contextlib.asynccontextmanager
    async def system_read(self) -> AsyncIterator[AsyncSession]:
        """A read across profiles on a connection of its own (never the operation's): for
        figures of rows the caller was already given, e.g. each listed profile's usage."""
        if self._ended:
            raise OperationEnded()
        async with self._sessions.system_read() as session:
            yield session

    @contextlib.asynccontextmanager
    async def write(self, targets: Sequence[Target] = ()) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block returns, else rolled back.

        ``targets``: the rows the write is about. On SQLite they are checked in a read
        first, so a write about a row this profile cannot see is refused NOT_FOUND
        without queueing for the write lock (db/targets.py). PostgreSQL has no such
        lock: there the service's own check, inside the write, is all it takes.
        """
        if targets and self._sqlite:
            async with self.read() as session:
                await require_targets(session, targets)
        async with self._block() as session:
            if self._sqlite:
                await begin_sqlite_transaction(session, write=True)
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
            finally:
                # Loaders may hold pre-write rows; later fields must see fresh data.
                self._loaders = None

    @contextlib.asynccontextmanager
    async def entering(
        self, user_id: uuid.UUID, named_profile: uuid.UUID | None = None
    ) -> AsyncIterator[AsyncSession]:
        """The block that opens the operation's session for a user whose profile its first
        statement finds out and publishes itself (PostgreSQL: the request's identity lookup
        and its tenant set-up in one round trip; see ``SessionFactory.user_entering_profile``),
        or, given ``named_profile``, whose first transaction checks that profile on BEGIN
        (``SessionFactory.user_in_named_profile``).

        Before any other block. On failure the session is let go, so a retry (a lost
        connection, a refused profile) starts from a fresh one.
        """
        async with self._turn:
            if self._ended:
                raise OperationEnded()
            if self._session is not None:
                raise RuntimeError("the operation's session is already open")
            if named_profile is None:
                session = self._sessions.user_entering_profile(user_id)
            else:
                session = self._sessions.user_in_named_profile(user_id, named_profile)
            self._session = session
            try:
                yield session
            except BaseException:
                self._session = None
                await _release(session)
                raise

    @contextlib.asynccontextmanager
    async def _block(self) -> AsyncIterator[AsyncSession]:
        async with self._turn:
            if self._ended:
                raise OperationEnded()
            yield self.session

    async def close(self) -> None:
        """End the operation: wait for the block in progress, then release the session.

        Shielded: an operation cancelled while it ends still returns its connection.
        Never raises otherwise: a connection the database dropped is invalidated (the
        pool replaces it), which is all a dead connection needs.
        """
        # Ended from now on: blocks still waiting for their turn are refused, only the
        # one in progress finishes.
        self._ended = True
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._end())
        await asyncio.shield(self._closing)

    async def _end(self) -> None:
        async with self._turn:
            session, self._session, self._loaders = self._session, None, None
        if session is not None:
            await _release(session)


async def _release(session: AsyncSession) -> None:
    try:
        await session.close()
    except Exception as exc:
        # E.g. "the underlying connection is closed" after a database restart.
        log.warning("session close failed; connection invalidated", error=str(exc))
        with contextlib.suppress(Exception):
            await session.invalidate()


_current: ContextVar[OperationDatabase | None] = ContextVar("editai_operation", default=None)


def current_operation() -> OperationDatabase:
    database = _current.get()
    if database is None:
        raise RuntimeError("no GraphQL operation is running in this task")
    return database


@contextlib.asynccontextmanager
async def operation_scope(sessions: SessionFactory, scope: ScopeSource) -> AsyncIterator[None]:
    """Run one operation inside: its gate is current for its tasks, and closed at the end."""
    database = OperationDatabase(sessions, scope)
    token = _current.set(database)
    try:
        yield
    finally:
        _current.reset(token)
        await database.close()
