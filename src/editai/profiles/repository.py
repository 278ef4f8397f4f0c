"""All SQL about users and profiles."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Select,
    String,
    Uuid,
    and_,
    bindparam,
    cast,
    delete,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from editai.db.dialect_insert import insert_for
from editai.db.tenancy import TenancyViolation, scope_settings
from editai.profiles.models import Profile, User

DEFAULT_PROFILE_NAME = "Default"


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


class ProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_for_user(self) -> Sequence[Profile]:
        """The scope's user's profiles, default first (the tenant hook adds the user filter)."""
        result = await self.session.scalars(
            select(Profile).order_by(Profile.is_default.desc(), Profile.created_at, Profile.id)
        )
        return result.all()

    async def get(self, profile_id: uuid.UUID) -> Profile | None:
        return await self.session.scalar(select(Profile).where(Profile.id == profile_id))

    async def get_many(self, ids: Sequence[uuid.UUID]) -> Sequence[Profile]:
        return (await self.session.scalars(select(Profile).where(Profile.id.in_(ids)))).all()

    async def name_taken(self, name: str, excluding: uuid.UUID | None = None) -> bool:
        stmt = select(func.count()).select_from(Profile).where(Profile.name_key == name_key(name))
        if excluding is not None:
            stmt = stmt.where(Profile.id != excluding)
        return bool(await self.session.scalar(stmt))

    def add(self, profile: Profile) -> None:
        self.session.add(profile)

    async def lock_all_for_user(self) -> None:
        """Serialize default switches of one user (PostgreSQL row locks; SQLite has one writer).

        Locked in id order: concurrent callers scanning in different physical orders
        (updates move tuples) would otherwise deadlock.
        """
        await self.session.execute(select(Profile.id).order_by(Profile.id).with_for_update())

    async def set_default(self, profile_id: uuid.UUID) -> None:
        # Two statements: the partial unique index is checked row by row on PostgreSQL.
        await self.session.execute(
            update(Profile)
            .where(Profile.is_default.is_(True), Profile.id != profile_id)
            .values(is_default=False)
            .execution_options(synchronize_session="fetch")
        )
        await self.session.execute(
            update(Profile)
            .where(Profile.id == profile_id)
            .values(is_default=True)
            .execution_options(synchronize_session="fetch")
        )

    async def delete(self, profile_id: uuid.UUID) -> int:
        result = await self.session.execute(
            delete(Profile).where(Profile.id == profile_id, Profile.is_default.is_(False))
        )
        return int(getattr(result, "rowcount", 0) or 0)


class AccountRepository:
    """Auth bootstrap: runs in a *system* session because it looks across users."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lookup(
        self, user_id: uuid.UUID, requested: uuid.UUID | None
    ) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        """(the user's default profile id, the owner of the requested profile) in one query."""
        rows = (await self.session.execute(_identity_rows(user_id, requested))).all()
        return _default_and_owner(rows, user_id, requested)

    async def lookup_and_enter(
        self, user_id: uuid.UUID, requested: uuid.UUID | None, role: str | None
    ) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        """``lookup``, and in the same statement the transaction's scope published to
        row-level security (PostgreSQL; a session from ``user_entering_profile``): the
        user, the role, and the profile entered, which is the requested one if the user
        owns it, else the user's default if none was requested, else none.

        The lookup reads across users (FORBIDDEN vs NOT_FOUND): its plan and its
        permissions are fixed before the statement runs, as the connecting role, and the
        role switch applies from the next statement on.
        """
        statement = _lookup_and_enter_statement(requested is not None, role is not None)
        params: dict[str, Any] = {"user_id": user_id, "user_setting": str(user_id)}
        if requested is not None:
            params["requested"] = requested
        if role is not None:
            params["role"] = role
        rows = (await self.session.execute(statement, params)).all()
        default_id, owner = _default_and_owner(
            [r for r in rows if r.id is not None], user_id, requested
        )
        expected = requested if requested is not None and owner == user_id else None
        if requested is None:
            expected = default_id
        published = rows[0].profile_setting if rows else None
        if published != (str(expected) if expected is not None else ""):
            raise TenancyViolation(f"published profile {published!r}, expected {expected}")
        return default_id, owner

    async def ensure_user_with_default_profile(self, user_id: uuid.UUID, email: str | None) -> None:
        """Idempotent under concurrency: ON CONFLICT DO NOTHING on both inserts."""
        insert = insert_for(self.session)
        await self.session.execute(
            insert(User).values(id=user_id, email=email).on_conflict_do_nothing()
        )
        values: dict[str, Any] = {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "name": DEFAULT_PROFILE_NAME,
            "name_key": name_key(DEFAULT_PROFILE_NAME),
            "is_default": True,
        }
        await self.session.execute(insert(Profile).values(**values).on_conflict_do_nothing())


def _identity_rows(user_id: Any, requested: Any | None) -> Select[Any]:
    """The user's default profile and the requested one: Core columns, so the tenant
    hook adds no user filter (the lookup must see another user's profile to say so).
    The ids are values, or bind parameters for a statement built once."""
    profiles = Profile.__table__.c
    condition = and_(profiles.user_id == user_id, profiles.is_default.is_(True))
    if requested is not None:
        condition = or_(condition, profiles.id == requested)
    return select(profiles.id, profiles.user_id, profiles.is_default).where(condition)


@functools.cache
def _lookup_and_enter_statement(with_requested: bool, with_role: bool) -> Select[Any]:
    """Built once per shape (building it costs more than running it): see
    ``AccountRepository.lookup_and_enter``."""
    user_id = bindparam("user_id", type_=Uuid)
    requested = bindparam("requested", type_=Uuid) if with_requested else None
    found = _identity_rows(user_id, requested).cte("found")
    if requested is None:
        rule = and_(found.c.user_id == user_id, found.c.is_default.is_(True))
    else:
        rule = and_(found.c.id == requested, found.c.user_id == user_id)
    entered = select(cast(found.c.id, String)).where(rule).scalar_subquery()
    settings = select(
        *scope_settings(
            func.coalesce(entered, ""),
            bindparam("user_setting", type_=String),
            bindparam("role", type_=String) if with_role else None,
        )
    ).subquery("scope")
    return select(
        found.c.id, found.c.user_id, found.c.is_default, settings.c.profile_setting
    ).select_from(settings.outerjoin(found, true()))


def _default_and_owner(
    rows: Sequence[Any], user_id: uuid.UUID, requested: uuid.UUID | None
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    default_id = next((r.id for r in rows if r.user_id == user_id and r.is_default), None)
    owner = next((r.user_id for r in rows if r.id == requested), None)
    return default_id, owner
