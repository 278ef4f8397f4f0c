"""All SQL about users and profiles."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

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
        condition = and_(Profile.user_id == user_id, Profile.is_default.is_(True))
        if requested is not None:
            condition = or_(condition, Profile.id == requested)
        rows = (
            await self.session.execute(
                select(Profile.id, Profile.user_id, Profile.is_default).where(condition)
            )
        ).all()
        default_id = next((r.id for r in rows if r.user_id == user_id and r.is_default), None)
        owner = next((r.user_id for r in rows if r.id == requested), None)
        return default_id, owner

    async def ensure_user_with_default_profile(self, user_id: uuid.UUID, email: str | None) -> None:
        """Idempotent under concurrency: ON CONFLICT DO NOTHING on both inserts."""
        insert = _insert_for(self.session)
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


def _insert_for(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
