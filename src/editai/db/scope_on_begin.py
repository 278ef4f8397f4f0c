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

The armed text is built here from validated pieces only (a UUID's canonical form, a role
name checked against PostgreSQL's identifier shape), never from free text.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, TypeGuard

import asyncpg

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


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
        # str() of a uuid.UUID is 36 characters of [0-9a-f-]: nothing to escape.
        text = str(uuid.UUID(str(value))) if value is not None else ""
        commands.append(f"SET LOCAL {name} = '{text}'")
    return "; ".join(commands)


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
        except BaseException:
            # BEGIN may have gone through while the scope did not (or we cannot know, if
            # cancelled): the server holds a transaction asyncpg calls failed, and asyncpg
            # would treat the next BEGIN as a savepoint. Nothing may run on this
            # connection again: the pool's checkout refuses a closed one.
            self.terminate()
            raise


def is_scope_on_begin(driver: object) -> TypeGuard[ScopeOnBeginConnection]:
    # Not isinstance(): asyncpg's metaclass answers True for every asyncpg connection.
    return issubclass(type(driver), ScopeOnBeginConnection)


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
