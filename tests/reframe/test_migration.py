"""Migration 0006: clips made before it keep their meaning (a centred crop), on both backends,
and its downgrade keeps the clips."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.db import migrate
from tests.db.test_migrations import fresh_postgres, fresh_sqlite  # noqa: F401 - fixtures

BEFORE = "0004"
NOW = datetime.now(UTC)


def _table(name: str, *columns: tuple[str, sa.types.TypeEngine[object]]) -> sa.TableClause:
    return sa.table(name, *(sa.column(column, kind) for column, kind in columns))


USERS = _table("users", ("id", sa.Uuid()), ("created_at", sa.DateTime(timezone=True)))
PROFILES = _table(
    "profiles",
    ("id", sa.Uuid()), ("user_id", sa.Uuid()), ("name", sa.String()), ("name_key", sa.String()),
    ("is_default", sa.Boolean()), ("created_at", sa.DateTime(timezone=True)),
    ("updated_at", sa.DateTime(timezone=True)),
)  # fmt: skip
PROJECTS = _table(
    "projects",
    ("id", sa.Uuid()), ("profile_id", sa.Uuid()), ("name", sa.String()), ("status", sa.String()),
    ("created_at", sa.DateTime(timezone=True)), ("updated_at", sa.DateTime(timezone=True)),
)  # fmt: skip
CLIPS = _table(
    "clips",
    ("id", sa.Uuid()), ("profile_id", sa.Uuid()), ("project_id", sa.Uuid()),
    ("variant_index", sa.Integer()), ("start_seconds", sa.Float()), ("end_seconds", sa.Float()),
    ("aspect", sa.String()), ("status", sa.String()),
    ("created_at", sa.DateTime(timezone=True)), ("updated_at", sa.DateTime(timezone=True)),
)  # fmt: skip


async def assert_old_clips_keep_a_centred_crop(engine: AsyncEngine) -> None:
    await migrate.upgrade(engine, BEFORE)
    user, profile, project, clip = (uuid.uuid4() for _ in range(4))
    stamps = {"created_at": NOW, "updated_at": NOW}
    async with engine.begin() as conn:
        await conn.execute(sa.insert(USERS).values(id=user, created_at=NOW))
        await conn.execute(
            sa.insert(PROFILES).values(
                id=profile, user_id=user, name="P", name_key="p", is_default=True, **stamps
            )
        )
        await conn.execute(
            sa.insert(PROJECTS).values(
                id=project, profile_id=profile, name="Old", status="ACTIVE", **stamps
            )
        )
        await conn.execute(
            sa.insert(CLIPS).values(
                id=clip,
                profile_id=profile,
                project_id=project,
                variant_index=0,
                start_seconds=0.0,
                end_seconds=5.0,
                aspect="R9_16",
                status="READY",
                **stamps,
            )
        )

    await migrate.upgrade(engine)
    framing = sa.text("SELECT reframe, layout, multiple_faces FROM clips")
    async with engine.connect() as conn:
        assert (await conn.execute(framing)).all() == [("CENTER", "CROP", "FIT_BLUR")]

    await migrate.downgrade(engine, BEFORE)
    async with engine.connect() as conn:
        columns = await conn.run_sync(
            lambda c: {x["name"] for x in sa.inspect(c).get_columns("clips")}
        )
        count = await conn.scalar(sa.text("SELECT count(*) FROM clips"))
    assert not columns & {"reframe", "layout", "multiple_faces"}
    assert count == 1


async def test_old_clips_keep_a_centred_crop_on_postgres(fresh_postgres: AsyncEngine) -> None:  # noqa: F811
    await assert_old_clips_keep_a_centred_crop(fresh_postgres)


async def test_old_clips_keep_a_centred_crop_on_sqlite(fresh_sqlite: AsyncEngine) -> None:  # noqa: F811
    await assert_old_clips_keep_a_centred_crop(fresh_sqlite)
