"""integrations: provider keys, voiceovers, highlight segments, publications per channel

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 01:45:51.341228

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import editai.db.base
from editai.db import rls
from editai.settings import get_settings

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEGMENT_KINDS_BEFORE = ("SCENE", "SPEECH", "SILENCE")
SEGMENT_KINDS = (*SEGMENT_KINDS_BEFORE, "HIGHLIGHT")
PUBLICATION_STATUSES = ("PENDING", "DRAFT", "SCHEDULED", "PUBLISHED", "FAILED")


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", editai.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", editai.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
    ]


def _status_enum() -> sa.Enum:
    return sa.Enum(
        *PUBLICATION_STATUSES,
        name="publicationstatus",
        native_enum=False,
        create_constraint=True,
        length=20,
    )


def _segment_kind_check(kinds: Sequence[str]) -> None:
    """Re-create the CHECK constraint of segments.kind with ``kinds`` (named as 0001 did)."""
    allowed = ", ".join(f"'{k}'" for k in kinds)
    # SQLite cannot alter a constraint: batch mode copies the table with the new one. On
    # PostgreSQL plain ALTERs (a copy would lose the table's row-level security policy).
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("segments", recreate="always" if sqlite else "auto") as batch_op:
        batch_op.drop_constraint(op.f("ck_segments_segmentkind"), type_="check")
        batch_op.create_check_constraint("segmentkind", sa.text(f"kind IN ({allowed})"))


def _create_publications() -> None:
    op.create_table(
        "publications",
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("integration_id", sa.String(length=200), nullable=False),
        sa.Column("integration_provider", sa.String(length=100), nullable=True),
        sa.Column(
            "mode",
            sa.Enum(
                "NOW",
                "SCHEDULE",
                "DRAFT",
                name="publishmode",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("postiz_media", sa.JSON(), nullable=True),
        sa.Column("postiz_post_id", sa.String(length=200), nullable=True),
        sa.Column("status", _status_enum(), nullable=False),
        sa.Column("scheduled_at", editai.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["clip_id", "profile_id"],
            ["clips.id", "clips.profile_id"],
            name=op.f("fk_publications_clip_id_profile_id_clips"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_publications_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_publications_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
        sa.UniqueConstraint(
            "job_id",
            "clip_id",
            "integration_id",
            name=op.f("uq_publications_job_id_clip_id_integration_id"),
        ),
    )
    op.create_index(op.f("ix_publications_clip_id"), "publications", ["clip_id"], unique=False)
    op.create_index(
        op.f("ix_publications_profile_id"), "publications", ["profile_id"], unique=False
    )


def _create_publications_0001() -> None:
    op.create_table(
        "publications",
        sa.Column("clip_id", sa.Uuid(), nullable=False),
        sa.Column("postiz_post_id", sa.String(length=200), nullable=True),
        sa.Column("integrations", sa.JSON(), nullable=False),
        sa.Column("status", _status_enum(), nullable=False),
        sa.Column("scheduled_at", editai.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["clip_id", "profile_id"],
            ["clips.id", "clips.profile_id"],
            name=op.f("fk_publications_clip_id_profile_id_clips"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_publications_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
    )
    op.create_index(op.f("ix_publications_clip_id"), "publications", ["clip_id"], unique=False)
    op.create_index(
        op.f("ix_publications_profile_id"), "publications", ["profile_id"], unique=False
    )


def _drop_publications() -> None:
    op.drop_index(op.f("ix_publications_profile_id"), table_name="publications")
    op.drop_index(op.f("ix_publications_clip_id"), table_name="publications")
    op.drop_table("publications")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    role = get_settings().db_tenant_role
    op.create_table(
        "voiceovers",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("voice_id", sa.String(length=200), nullable=False),
        sa.Column("characters", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.Double(), nullable=False),
        sa.Column("media_path", sa.String(length=500), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("timings_from_provider", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_voiceovers_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_voiceovers_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id", "profile_id"],
            ["projects.id", "projects.profile_id"],
            name=op.f("fk_voiceovers_project_id_profile_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voiceovers")),
    )
    op.create_index(op.f("ix_voiceovers_profile_id"), "voiceovers", ["profile_id"], unique=False)
    op.create_index(op.f("ix_voiceovers_project_id"), "voiceovers", ["project_id"], unique=False)

    with op.batch_alter_table("profiles") as batch_op:
        batch_op.add_column(
            sa.Column("elevenlabs_api_key_encrypted", sa.LargeBinary(), nullable=True)
        )
        batch_op.add_column(sa.Column("gemini_api_key_encrypted", sa.LargeBinary(), nullable=True))

    with op.batch_alter_table("segments") as batch_op:
        batch_op.add_column(sa.Column("label", sa.Text(), nullable=True))
    _segment_kind_check(SEGMENT_KINDS)

    # Publications were never written before this revision: re-created in their new shape
    # (one row per clip and channel) rather than altered column by column.
    if postgres:
        rls.disable_for_table("publications", role)
    _drop_publications()
    _create_publications()

    if postgres:
        rls.enable_for_table("publications", role)
        rls.enable_for_table("voiceovers", role)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    role = get_settings().db_tenant_role
    if postgres:
        rls.disable_for_table("voiceovers", role)
        rls.disable_for_table("publications", role)
    _drop_publications()
    _create_publications_0001()
    if postgres:
        rls.enable_for_table("publications", role)

    op.execute("DELETE FROM segments WHERE kind = 'HIGHLIGHT'")
    _segment_kind_check(SEGMENT_KINDS_BEFORE)
    with op.batch_alter_table("segments") as batch_op:
        batch_op.drop_column("label")

    with op.batch_alter_table("profiles") as batch_op:
        batch_op.drop_column("gemini_api_key_encrypted")
        batch_op.drop_column("elevenlabs_api_key_encrypted")

    op.drop_index(op.f("ix_voiceovers_project_id"), table_name="voiceovers")
    op.drop_index(op.f("ix_voiceovers_profile_id"), table_name="voiceovers")
    op.drop_table("voiceovers")
