"""Fair claims' indexes (queued/running jobs by profile, a profile's last start); export sizes

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 08:40:00

The claim (jobs/claims.py) ranks the profiles that have runnable jobs by their RUNNING
count and their newest started_at, then takes the oldest runnable job of the first. Two
partial indexes keep the queued and the running jobs of a profile apart from its history
(which only grows); the third answers max(started_at) per profile from the index.

clips.export_size_bytes records the size of a clip's export, which the per-profile
storage quota counts (quotas/repository.py); exports made before it count as 0.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_jobs_queued_profile",
        "jobs",
        ["profile_id", "run_after", "created_at"],
        postgresql_where=sa.text("status = 'QUEUED'"),
        sqlite_where=sa.text("status = 'QUEUED'"),
    )
    op.create_index(
        "ix_jobs_running_profile",
        "jobs",
        ["profile_id"],
        postgresql_where=sa.text("status = 'RUNNING'"),
        sqlite_where=sa.text("status = 'RUNNING'"),
    )
    op.create_index("ix_jobs_profile_started", "jobs", ["profile_id", "started_at"])
    op.add_column("clips", sa.Column("export_size_bytes", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clips") as batch:
        batch.drop_column("export_size_bytes")
    op.drop_index("ix_jobs_profile_started", table_name="jobs")
    op.drop_index("ix_jobs_running_profile", table_name="jobs")
    op.drop_index("ix_jobs_queued_profile", table_name="jobs")
