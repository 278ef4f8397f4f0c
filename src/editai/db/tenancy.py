"""Tenant scoping: THE hook.

A session is created *for* a scope. Every ORM SELECT/UPDATE/DELETE it runs gets the
scope's criteria added (``with_loader_criteria`` on the mixins, aliases included);
every flush stamps and checks ownership; a session with no scope that touches a
scoped model raises. On PostgreSQL each transaction also switches to the tenant
role and publishes the scope to row-level security policies, the second wall that
catches what the ORM hook cannot see (``text()``, Core statements).
"""

from __future__ import annotations

import functools
import uuid
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Select,
    String,
    Uuid,
    bindparam,
    event,
    false,
    func,
    inspect,
    select,
    true,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria
from sqlalchemy.orm.util import LoaderCriteriaOption
from sqlalchemy.sql.elements import ColumnElement

from editai.db.base import ProfileScoped, UserScoped
from editai.db.dml_owner_checks import check_dml_owner_values
from editai.db.engine import begin_sqlite_transaction

# Re-exported: the rest of the code knows them from here.
from editai.db.scope import TenancyViolation as TenancyViolation
from editai.db.scope import TenantScope as TenantScope
from editai.db.scope import is_subclass_of
from editai.db.scope_on_begin import (
    ROLE_NAME,
    entering_commands,
    is_scope_on_begin,
    scope_commands,
)

_SCOPE_KEY = "editai.scope"
_UNSCOPED = TenantScope()


def scope_of(session: Session | AsyncSession) -> TenantScope:
    info = session.info if isinstance(session, Session) else session.sync_session.info
    scope = info.get(_SCOPE_KEY)
    return scope if isinstance(scope, TenantScope) else _UNSCOPED


class TenantSession(Session):
    """Session class carrying the tenancy event listeners (and nothing else)."""


def _touched_classes(state: ORMExecuteState, facts: _StatementFacts | None) -> list[type]:
    # Remembered per statement: ``all_mappers`` builds the statement's column entities
    # (one per column of a rows select) every time it is asked (4 % of a page's CPU).
    if facts is not None and facts.touched is not None:
        return facts.touched
    classes = [mapper.class_ for mapper in state.all_mappers]
    if facts is not None:
        facts.touched = classes
    return classes


@event.listens_for(TenantSession, "do_orm_execute")
def _add_tenant_criteria(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_insert or state.is_update or state.is_delete):
        return
    if not state.is_orm_statement:
        # Core statements on Table metadata: loader criteria never apply to them (and
        # adding them costs a cache-key walk). Row-level security is their wall.
        return
    scope = scope_of(state.session)
    if scope.system:
        return
    facts = _facts_of(state.statement)
    touched = _touched_classes(state, facts)
    if state.is_insert or state.is_update:
        check_dml_owner_values(state, scope, touched)
    if state.is_insert:
        return
    if scope.profile_id is None and any(is_subclass_of(c, ProfileScoped) for c in touched):
        raise TenancyViolation(
            f"profile-scoped model queried by a session without a profile ({scope.describe()})"
        )
    if scope.user_id is None and any(is_subclass_of(c, UserScoped) for c in touched):
        raise TenancyViolation(
            f"user-scoped model queried by a session without a user ({scope.describe()})"
        )
    state.statement = _with_criteria(state.statement, facts, scope)


# What the hook works out about a statement object, kept with it (weakly: an entry dies
# with its statement). A statement built once per shape (values bound per call: the
# repositories' hot reads) is then looked at once, and gets the same criteria-bearing
# copy on every execution in a scope, whose cache key SQLAlchemy memoizes; a fresh
# ``.options()`` copy per execution meant walking the whole statement for its cache key
# every time (issue 8's profile). The copies are keyed by the exact ids, like
# ``_criteria_for``: an entry only ever serves its own scope.
@dataclass(slots=True)
class _StatementFacts:
    touched: list[type] | None = None
    scoped: OrderedDict[tuple[Any, Any], Any] = field(default_factory=OrderedDict)


_FACTS: weakref.WeakKeyDictionary[Any, _StatementFacts] = weakref.WeakKeyDictionary()
_SCOPES_PER_STATEMENT = 256


def _facts_of(statement: Any) -> _StatementFacts | None:
    try:
        facts = _FACTS.get(statement)
        if facts is None:
            facts = _FACTS[statement] = _StatementFacts()
    except TypeError:  # not weak-referenceable: nothing remembered
        return None
    return facts


def _with_criteria(statement: Any, facts: _StatementFacts | None, scope: TenantScope) -> Any:
    key = (scope.profile_id, scope.user_id)
    if facts is None:
        return statement.options(*_criteria_for(*key))
    per_scope = facts.scoped
    scoped = per_scope.get(key)
    if scoped is None:
        scoped = per_scope[key] = statement.options(*_criteria_for(*key))
        if len(per_scope) > _SCOPES_PER_STATEMENT:
            per_scope.popitem(last=False)
    else:
        per_scope.move_to_end(key)
    return scoped


@functools.lru_cache(maxsize=4096)
def _criteria_for(
    profile_id: uuid.UUID | None, user_id: uuid.UUID | None
) -> tuple[LoaderCriteriaOption, LoaderCriteriaOption]:
    """The two loader criteria of a scope, built once per scope (building them was a
    visible share of every statement). Keyed by the exact ids they filter on, so an
    entry only ever serves the scope it was built for."""
    # The ids are closure variables, tracked as bound parameters of the cached lambda:
    # never default arguments, which the statement cache would freeze.
    profile_criteria = (
        with_loader_criteria(
            ProfileScoped,
            lambda cls: cls.profile_id == profile_id,
            include_aliases=True,
            track_closure_variables=True,
        )
        if profile_id is not None
        # Backstop for an entity the check above could not see (e.g. only in a join).
        else with_loader_criteria(ProfileScoped, lambda cls: false(), include_aliases=True)
    )
    user_criteria = (
        with_loader_criteria(
            UserScoped,
            lambda cls: cls.user_id == user_id,
            include_aliases=True,
            track_closure_variables=True,
        )
        if user_id is not None
        else with_loader_criteria(UserScoped, lambda cls: false(), include_aliases=True)
    )
    return profile_criteria, user_criteria


@event.listens_for(TenantSession, "before_flush")
def _stamp_and_check_owner(session: Session, _flush_context: Any, _instances: Any) -> None:
    scope = scope_of(session)
    if scope.system:
        return
    for obj in session.new:
        _check_new(obj, scope)
    for obj in list(session.dirty) + list(session.deleted):
        _check_existing(obj, scope)


def _check_new(obj: object, scope: TenantScope) -> None:
    if isinstance(obj, ProfileScoped):
        if scope.profile_id is None:
            raise TenancyViolation(f"insert of {type(obj).__name__} without a profile scope")
        if obj.profile_id is None:
            obj.profile_id = scope.profile_id
        elif obj.profile_id != scope.profile_id:
            raise TenancyViolation(f"insert of {type(obj).__name__} into another profile")
    if isinstance(obj, UserScoped):
        if scope.user_id is None:
            raise TenancyViolation(f"insert of {type(obj).__name__} without a user scope")
        if getattr(obj, "user_id", None) is None:
            obj.user_id = scope.user_id
        elif obj.user_id != scope.user_id:
            raise TenancyViolation(f"insert of {type(obj).__name__} for another user")


def _check_existing(obj: object, scope: TenantScope) -> None:
    owner_checks: list[tuple[str, uuid.UUID | None]] = []
    if isinstance(obj, ProfileScoped):
        owner_checks.append(("profile_id", scope.profile_id))
    if isinstance(obj, UserScoped):
        owner_checks.append(("user_id", scope.user_id))
    if not owner_checks:
        return
    attrs = inspect(obj).attrs
    for key, allowed in owner_checks:
        history = attrs[key].history
        values = (
            set(history.deleted or ()) | set(history.unchanged or ()) | set(history.added or ())
        )
        if allowed is None or values - {allowed}:
            raise TenancyViolation(f"change of {type(obj).__name__} outside the session's scope")


@event.listens_for(TenantSession, "after_begin")
def _publish_scope_to_postgres(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    if connection.dialect.name != "postgresql":
        return
    driver = connection.connection.driver_connection
    armable = driver if is_scope_on_begin(driver) and not driver.is_in_transaction() else None
    if armable is not None:
        armable.arm_scope(None)  # whatever happens below, nothing stale rides on this BEGIN
    if session.info.pop(_PUBLISHED_BY_CALLER, False):
        # This one transaction's first statement publishes the scope itself (the request's
        # identity lookup, db/tenancy.py ``scope_settings``): one round trip less.
        return
    scope = scope_of(session)
    if scope.system:
        return
    role = session.info.get(_ROLE_KEY)
    require_profile = session.info.pop(_REQUIRE_PROFILE, False)
    if require_profile:
        if scope.profile_id is None or scope.user_id is None:
            raise TenancyViolation(
                f"a profile check needs a user and a profile ({scope.describe()})"
            )
        commands = entering_commands(scope.profile_id, scope.user_id, role)
    else:
        commands = scope_commands(scope.profile_id, scope.user_id, role)
    if armable is not None:
        # Sent with this transaction's BEGIN (db/scope_on_begin.py): no round trip of its own.
        armable.arm_scope(commands)
        return
    if require_profile:
        connection.execute(
            _REQUIRE_PROFILE_STATEMENT,
            {"profile_id": scope.profile_id, "user_id": scope.user_id},
        )
    # A connection already in a transaction (a caller's outer one) or not ours: one round
    # trip. set_config('role', ..., true) is SET LOCAL ROLE: the transaction drops to the
    # non-owner role, so row-level security applies to everything it runs.
    connection.execute(
        _SET_SCOPE_WITH_ROLE if role else _SET_SCOPE,
        {
            "profile_id": str(scope.profile_id) if scope.profile_id else "",
            "user_id": str(scope.user_id) if scope.user_id else "",
            **({"role": role} if role else {}),
        },
    )


_ROLE_KEY = "editai.tenant_role"
_PUBLISHED_BY_CALLER = "editai.scope_published_by_caller"
_REQUIRE_PROFILE = "editai.require_profile"
# Migration 0004's check, for a connection that cannot carry it on its BEGIN.
_REQUIRE_PROFILE_STATEMENT = select(
    func.editai_require_profile(
        bindparam("profile_id", type_=Uuid), bindparam("user_id", type_=Uuid)
    )
)


def scope_settings(
    profile_id: ColumnElement[Any], user_id: ColumnElement[Any], role: ColumnElement[Any] | None
) -> list[ColumnElement[Any]]:
    """The columns that publish a scope to row-level security, transaction-local.

    ``profile_setting`` is the profile id the policies will compare against ('' for none).
    Every statement that publishes a scope is built from these.
    """
    columns: list[ColumnElement[Any]] = []
    if role is not None:
        columns.append(func.set_config("role", role, true()).label("role_setting"))
    columns.append(func.set_config("app.profile_id", profile_id, true()).label("profile_setting"))
    columns.append(func.set_config("app.user_id", user_id, true()).label("user_setting"))
    return columns


def _set_scope_statement(*, with_role: bool) -> Select[Any]:
    role = bindparam("role", type_=String) if with_role else None
    profile_id, user_id = bindparam("profile_id", type_=String), bindparam("user_id", type_=String)
    return select(*scope_settings(profile_id, user_id, role))


_SET_SCOPE = _set_scope_statement(with_role=False)
_SET_SCOPE_WITH_ROLE = _set_scope_statement(with_role=True)


def tenant_role_of(session: AsyncSession) -> str | None:
    """The role tenant transactions of ``session`` run as (PostgreSQL), or None."""
    role = session.sync_session.info.get(_ROLE_KEY)
    return role if isinstance(role, str) else None


def enter_profile(session: AsyncSession, profile_id: uuid.UUID | None) -> None:
    """Narrow a user's session to one of its profiles (or to none), from now on.

    For the request whose first statement found out which profile it works in and
    published it to row-level security itself; the ORM hook follows from here.
    """
    scope = scope_of(session)
    if scope.system or scope.user_id is None or scope.profile_id is not None:
        raise TenancyViolation(f"only a user's session enters a profile ({scope.describe()})")
    session.sync_session.info[_SCOPE_KEY] = TenantScope(
        user_id=scope.user_id, profile_id=profile_id
    )


class SessionFactory:
    """Creates sessions for a scope. The only way the application gets a session."""

    def __init__(self, engine: AsyncEngine, tenant_role: str | None = None) -> None:
        self.engine = engine
        if tenant_role and not ROLE_NAME.fullmatch(tenant_role):
            raise ValueError(f"invalid PostgreSQL role name: {tenant_role!r}")
        self.tenant_role = tenant_role if engine.dialect.name == "postgresql" else None
        self._maker = async_sessionmaker(
            engine, expire_on_commit=False, autoflush=False, sync_session_class=TenantSession
        )

    def _new(self, scope: TenantScope, *, reusable: bool = True) -> AsyncSession:
        # reusable=False: after close() the session refuses further use instead of
        # quietly checking out a new connection (graphql/operation.py).
        session = self._maker() if reusable else self._maker(close_resets_only=False)
        session.sync_session.info[_SCOPE_KEY] = scope
        if self.tenant_role:
            session.sync_session.info[_ROLE_KEY] = self.tenant_role
        return session

    def tenant(
        self, profile_id: uuid.UUID | None, user_id: uuid.UUID | None, *, reusable: bool = True
    ) -> AsyncSession:
        """A session for one user, and for one of its profiles when given."""
        if profile_id is None and user_id is None:
            raise TenancyViolation("a tenant session needs a user or a profile")
        return self._new(TenantScope(user_id=user_id, profile_id=profile_id), reusable=reusable)

    def user_entering_profile(self, user_id: uuid.UUID) -> AsyncSession:
        """A session for one user, whose first transaction publishes its scope itself
        (``scope_settings`` in its first statement) and then ``enter_profile``."""
        session = self._new(TenantScope(user_id=user_id), reusable=False)
        if self.engine.dialect.name == "postgresql":
            session.sync_session.info[_PUBLISHED_BY_CALLER] = True
        return session

    def user_in_named_profile(self, user_id: uuid.UUID, profile_id: uuid.UUID) -> AsyncSession:
        """A session for one user in the profile its request named (PostgreSQL), whose first
        transaction begins only once the database found that profile to be the user's
        (``editai_require_profile``, raising ``PROFILE_REFUSED``: db/scope_on_begin.py)."""
        if self.engine.dialect.name != "postgresql":
            raise TenancyViolation("the profile check on BEGIN is PostgreSQL's")
        session = self._new(TenantScope(user_id=user_id, profile_id=profile_id), reusable=False)
        session.sync_session.info[_REQUIRE_PROFILE] = True
        return session

    def unscoped(self) -> AsyncSession:
        """A session with no scope at all: any scoped model it touches raises."""
        return self._new(_UNSCOPED)

    def system(self) -> AsyncSession:
        """Explicit, greppable bypass for auth bootstrap, the worker's claim loop, janitors."""
        return self._new(TenantScope(system=True))

    @asynccontextmanager
    async def tenant_transaction(
        self, profile_id: uuid.UUID | None, user_id: uuid.UUID | None
    ) -> AsyncIterator[AsyncSession]:
        async with self.tenant(profile_id, user_id) as session, session.begin():
            yield session

    @asynccontextmanager
    async def system_transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.system() as session, session.begin():
            yield session

    @asynccontextmanager
    async def system_read(self) -> AsyncIterator[AsyncSession]:
        """A read-only system transaction: on SQLite it never takes the write lock."""
        async with self.system() as session:
            if self.engine.dialect.name == "sqlite":
                await begin_sqlite_transaction(session, write=False)
            try:
                yield session
            finally:
                await session.rollback()
