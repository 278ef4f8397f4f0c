"""Rules the database itself enforces, on both backends."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from editai.db.tenancy import SessionFactory
from editai.profiles.models import Profile, User


def profile(user_id: uuid.UUID, name: str, *, is_default: bool) -> Profile:
    return Profile(user_id=user_id, name=name, name_key=name.lower(), is_default=is_default)


async def new_user_with_default(sessions: SessionFactory) -> tuple[uuid.UUID, uuid.UUID]:
    user_id = uuid.uuid4()
    default = profile(user_id, "Main", is_default=True)
    async with sessions.system_transaction() as session:
        session.add(User(id=user_id))
        await session.flush()
        session.add(default)
    return user_id, default.id


async def test_a_second_default_profile_is_rejected_by_the_database(
    sessions: SessionFactory,
) -> None:
    user_id, _ = await new_user_with_default(sessions)
    # A system session: no application code in the way, only the partial unique index.
    async with sessions.system() as session:
        session.add(profile(user_id, "Second", is_default=True))
        with pytest.raises(IntegrityError, match=r"(?i)unique"):
            await session.commit()

    async with sessions.system() as session:
        count = await session.scalar(
            select(func.count()).select_from(Profile).where(Profile.user_id == user_id)
        )
    assert count == 1


async def test_flipping_another_profile_to_default_is_rejected(sessions: SessionFactory) -> None:
    user_id, _ = await new_user_with_default(sessions)
    other = profile(user_id, "Other", is_default=False)
    async with sessions.system_transaction() as session:
        session.add(other)
    async with sessions.system() as session:
        with pytest.raises(IntegrityError):
            await session.execute(
                update(Profile).where(Profile.id == other.id).values(is_default=True)
            )
        await session.rollback()


async def test_the_rule_is_one_default_per_user_not_one_profile(
    sessions: SessionFactory,
) -> None:
    user_id, default_id = await new_user_with_default(sessions)
    other_user, _ = await new_user_with_default(sessions)  # each user has their own default
    async with sessions.system_transaction() as session:
        session.add_all([profile(user_id, f"Extra {i}", is_default=False) for i in range(2)])
    # Moving the default: clear the old one first, then set the new one.
    async with sessions.system_transaction() as session:
        extra = await session.scalar(
            select(Profile.id).where(Profile.user_id == user_id, Profile.name == "Extra 0")
        )
        await session.execute(
            update(Profile).where(Profile.id == default_id).values(is_default=False)
        )
        await session.execute(update(Profile).where(Profile.id == extra).values(is_default=True))
    async with sessions.system() as session:
        defaults = (
            await session.execute(
                select(Profile.user_id, Profile.id).where(
                    Profile.user_id.in_([user_id, other_user]), Profile.is_default
                )
            )
        ).all()
    assert len(defaults) == 2
    assert {row.user_id for row in defaults} == {user_id, other_user}
    assert (user_id, extra) in [tuple(row) for row in defaults]
