"""Connections the database dropped (restart, failover, ``pg_terminate_backend``).

Two things live here:

- ``refuse_dead_connections``: the pool never hands out a connection the database has
  already dropped, and finds out without a round trip. A terminated backend sends a
  FATAL ErrorResponse and closes its socket; an idle pooled connection learns of it only
  when the event loop next reads that socket, and asyncpg calls itself closed only a few
  loop iterations later (measured: ``is_closed()`` still False two iterations after the
  message and the FIN were in the kernel buffer). So at checkout a connection counts as
  dead if asyncpg says so *or* if its socket already holds unread input or a hang-up:
  between transactions an idle connection has nothing to read (every reply it asked for
  was read up to ReadyForQuery), and what a server sends unasked is its termination
  message, or rarely a NOTICE/ParameterStatus, for which replacing the connection costs
  one reconnect, never a wrong answer. One ``poll(2)`` with a zero timeout, no I/O;
  ``pool_pre_ping`` would cost three round trips per checkout on asyncpg.
- ``is_connection_lost`` / ``retry_on_connection_loss``: telling a lost connection from
  other errors, and running an idempotent piece of database work again on a fresh one
  (the worker's queue bookkeeping).

What no checkout can see is a backend killed after the checkout: that operation was in
flight, and fails (SQLAlchemy then invalidates the connection, and the pool's older ones).
"""

from __future__ import annotations

import asyncio
import select
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")

# Anything to read, or the peer gone. POLLRDHUP (Linux) reports the FIN on its own.
_INPUT_OR_HANGUP = (
    select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR | select.POLLNVAL
) | getattr(select, "POLLRDHUP", 0)

# SQLSTATEs of a connection the server ended: class 08 (connection exception), and
# admin_shutdown (pg_terminate_backend, a fast shutdown), crash_shutdown, cannot_connect_now
# (starting up, shutting down, in recovery).
_LOST_STATES = {"57P01", "57P02", "57P03"}


def refuse_dead_connections(engine: AsyncEngine) -> None:
    """Replace, at checkout, every pooled connection whose backend is already gone."""
    event.listen(engine.sync_engine, "checkout", _refuse_dead_connection)


def _refuse_dead_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    # The SQLAlchemy adapter's public handle on the asyncpg connection.
    driver = getattr(dbapi_connection, "driver_connection", None)
    if not isinstance(driver, asyncpg.Connection):
        return
    if driver.is_closed():
        raise DisconnectionError("the pooled connection is closed")
    if _unread_input_or_hangup(driver):
        # DisconnectionError: the pool invalidates this one connection, connects a fresh
        # one in its place and runs this check again on it (pool/base.py _checkout).
        raise DisconnectionError("the server ended the pooled connection while it was idle")


def _unread_input_or_hangup(driver: asyncpg.Connection[Any]) -> bool:
    # asyncpg exposes no public accessor for its transport; without one, rely on
    # is_closed() alone (the connection is then caught a few loop iterations later).
    transport = getattr(driver, "_transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None:
        return False
    fd = sock.fileno()
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, _INPUT_OR_HANGUP)
    return bool(poller.poll(0))


def is_connection_lost(exc: BaseException) -> bool:
    """Did ``exc`` (or an exception it was raised from) come from losing the database?"""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_loss(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _is_loss(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, DisconnectionError | ConnectionError | asyncpg.PostgresConnectionError):
        return True
    if isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc):
        return True
    state = getattr(exc, "sqlstate", None)
    return isinstance(state, str) and (state.startswith("08") or state in _LOST_STATES)


async def retry_on_connection_loss(
    operation: Callable[[], Awaitable[T]],
    *,
    what: str,
    within: float,
    max_delay: float = 2.0,
) -> T:
    """Run ``operation``; while it fails for a lost connection, run it again, for ``within`` s.

    Only for work that is safe to repeat (each try is its own transaction, and a try whose
    commit was lost with the connection may have committed). The first retry is at once
    and always made, however long the failed try took (the pool hands out a fresh
    connection: one killed connection costs one retry); later ones back off up to
    ``max_delay`` (the database may be restarting) while ``within`` s have not passed.
    Other errors, and the last loss, are raised.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    delay = 0.0
    while True:
        try:
            return await operation()
        except Exception as exc:
            if not is_connection_lost(exc) or (delay and loop.time() + delay > deadline):
                raise
            log.warning(
                "database connection lost, retrying", operation=what, retry_in_seconds=delay
            )
        await asyncio.sleep(delay)
        delay = min(max(delay * 2, 0.1), max_delay)
