"""transcripts: what was said in a project's source video, with word timings

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 08:30:00

One row per project (unique project_id), pinned to the project's profile by the composite
foreign key like clips, and behind the same row-level security policy as every tenant table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import editai.db.base
from editai.db import rls
from editai.settings import get_settings

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "transcripts",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("duration_seconds", sa.Double(), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", editai.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", editai.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_transcripts_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id", "profile_id"],
            ["projects.id", "projects.profile_id"],
            name=op.f("fk_transcripts_project_id_profile_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcripts")),
        sa.UniqueConstraint("project_id", name=op.f("uq_transcripts_project_id")),
    )
    op.create_index(op.f("ix_transcripts_profile_id"), "transcripts", ["profile_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        rls.enable_for_table("transcripts", get_settings().db_tenant_role)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        rls.disable_for_table("transcripts", get_settings().db_tenant_role)
    op.drop_index(op.f("ix_transcripts_profile_id"), table_name="transcripts")
    op.drop_table("transcripts")
