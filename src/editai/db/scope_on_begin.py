"""A tenant transaction's scope published in the same round trip as its ``BEGIN``.

Row-level security needs every tenant transaction to run ``SET LOCAL ROLE`` and set
``app.profile_id``/``app.user_id`` before its first statement. Sent as a statement of its
own, that is one round trip more per transaction (12 % of a two-query transaction,
``bench/tenant_hook_overhead.py``). asyncpg starts a transaction with a simple-query
``BEGIN``, and a simple query may hold several statements: so the connection class below
appends the scope's ``SET LOCAL`` commands to the ``BEGIN`` it sends, once, when the
tenancy hook armed it for this transaction (``db/tenancy.py``). The settings are still
transaction-local and set before anything else runs in it; nothing outlives the
transaction.

A request that names its profile (X-Profile-Id) goes one step further: the profile's
ownership check (``editai_require_profile``, migration 0004) rides on the same BEGIN,
before the scope, and the BEGIN is sent at once (``begin_now``), so the request needs no
identity statement of its own: BEGIN, its data, ROLLBACK. A refused check rolls back at
once and leaves the connection as it was; the request then asks the full lookup why.

The armed text is built here from validated pieces only (a UUID's canonical form, a role
name checked against PostgreSQL's identifier shape), never from free text.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, TypeGuard

import asyncpg

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# SQLSTATE of editai_require_profile() (migration 0004): the profile is not the user's.
PROFILE_REFUSED = "EP403"


def _uuid_text(value: uuid.UUID | None) -> str:
    # str() of a uuid.UUID is 36 characters of [0-9a-f-]: nothing to escape.
    return str(uuid.UUID(str(value))) if value is not None else ""


def scope_commands(
    profile_id: uuid.UUID | None, user_id: uuid.UUID | None, role: str | None
) -> str:
    """The ``SET LOCAL`` commands publishing a scope, as ``;``-separated SQL text.

    The same settings as ``tenancy.scope_settings`` (role first, '' for no id).
    """
    commands: list[str] = []
    if role is not None:
        if not ROLE_NAME.fullmatch(role):
            raise ValueError(f"invalid PostgreSQL role name: {role!r}")
        commands.append(f'SET LOCAL ROLE "{role}"')
    for name, value in (("app.profile_id", profile_id), ("app.user_id", user_id)):
        commands.append(f"SET LOCAL {name} = '{_uuid_text(value)}'")
    return "; ".join(commands)


def entering_commands(profile_id: uuid.UUID, user_id: uuid.UUID, role: str | None) -> str:
    """``scope_commands``, after the check that the user owns the profile (raising
    ``PROFILE_REFUSED`` otherwise, so nothing after it runs: migration 0004). The check
    runs as the connecting role, before the role switch: it reads across users."""
    check = (
        f"SELECT editai_require_profile('{_uuid_text(profile_id)}'::uuid, "
        f"'{_uuid_text(user_id)}'::uuid)"
    )
    return f"{check}; {scope_commands(profile_id, user_id, role)}"


def is_profile_refused(exc: BaseException) -> bool:
    """Was ``exc`` (or what it was raised from) ``editai_require_profile``'s refusal?"""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "sqlstate", None) == PROFILE_REFUSED:
            return True
        current = current.__cause__ or current.__context__
    return False


class ScopeOnBeginConnection(asyncpg.Connection):  # type: ignore[misc]
    """An asyncpg connection whose next ``BEGIN`` can carry a tenant scope with it.

    The engine creates every PostgreSQL connection of this class (``db/engine.py``).
    """

    __slots__ = ("_scope_on_begin",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scope_on_begin: str | None = None

    def arm_scope(self, commands: str | None) -> None:
        """Send ``commands`` with the next ``BEGIN`` (None: nothing; replaces any armed)."""
        self._scope_on_begin = commands

    @property
    def armed_scope(self) -> str | None:
        return self._scope_on_begin

    async def execute(
        self,
        query: str,
        *args: Any,
        timeout: float | None = None,  # noqa: ASYNC109 - asyncpg's own signature
    ) -> str:
        commands = self._scope_on_begin
        if commands is None or args or not query.startswith("BEGIN"):
            return await super().execute(query, *args, timeout=timeout)  # type: ignore[no-any-return]
        self._scope_on_begin = None  # one transaction only, whatever happens next
        try:
            begin = query.rstrip().removesuffix(";")
            return await super().execute(f"{begin}; {commands};", timeout=timeout)  # type: ignore[no-any-return]
        except asyncpg.PostgresError as exc:
            if exc.sqlstate != PROFILE_REFUSED:
                self.terminate()
                raise
            await self._end_refused_transaction()
            raise
        except BaseException:
            # BEGIN may have gone through while the scope did not (or we cannot know, if
            # cancelled): the server holds a transaction asyncpg calls failed, and asyncpg
            # would treat the next BEGIN as a savepoint. Nothing may run on this
            # connection again: the pool's checkout refuses a closed one.
            self.terminate()
            raise

    async def _end_refused_transaction(self) -> None:
        """After a refused profile check: BEGIN went through, the rest did not. Rolled back
        here as asyncpg's own ``reset()`` does it (its failed transaction object otherwise
        stays the connection's top transaction, and the next BEGIN would be taken for a
        savepoint), so the connection serves the next transaction as it is."""
        try:
            self._top_xact = None  # type: ignore[misc]  # asyncpg's own attribute
            await super().execute("ROLLBACK")
        except BaseException:
            self.terminate()
            raise


def is_scope_on_begin(driver: object) -> TypeGuard[ScopeOnBeginConnection]:
    # Not isinstance(): asyncpg's metaclass answers True for every asyncpg connection.
    return issubclass(type(driver), ScopeOnBeginConnection)


async def begin_now(connection: Any) -> None:
    """Send ``connection``'s BEGIN (and what is armed with it) now, not with its first
    statement: for a check that must have passed before anything else runs.

    SQLAlchemy's asyncpg adapter begins lazily, at its first execution, and offers no
    public call for this: this is what that first execution calls (under the adapter's
    own lock). ``connection``: a SQLAlchemy ``AsyncConnection`` on PostgreSQL.
    """
    adapted = (await connection.get_raw_connection()).dbapi_connection
    async with adapted._execute_mutex:
        if adapted._transaction is None:
            await adapted._start_transaction()


def _disarm(driver: object) -> None:
    if is_scope_on_begin(driver):
        driver.arm_scope(None)


def disarm_when_transactions_end(engine: Any) -> None:
    """An armed scope never outlives its transaction, even one that sent no statement.

    The tenancy hook arms each transaction's scope (or clears it) when it begins; these
    listeners clear it again when the transaction ends and when the connection goes back
    to the pool, so no other transaction's ``BEGIN`` can ever carry it.
    """
    from sqlalchemy import event

    sync_engine = engine.sync_engine
    for name in ("commit", "rollback"):
        event.listen(sync_engine, name, _disarm_connection)
    event.listen(
        sync_engine.pool, "checkin", lambda dbapi_conn, _record: _disarm(_driver_of(dbapi_conn))
    )


def _disarm_connection(connection: Any) -> None:
    if not (connection.closed or connection.invalidated):  # never reconnect from here
        _disarm(connection.connection.driver_connection)


def _driver_of(dbapi_connection: Any) -> Any:
    return getattr(dbapi_connection, "driver_connection", None)
