"""clips.export_stale and clips.revision: trimming and extending a clip (updateClip)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 08:40:00

``revision`` counts the re-cuts asked of a clip: updateClip raises it in the transaction
that queues the job, and the job applies its range only if the clip still has the
revision it was queued for, so the last request wins whatever order the jobs end in.
``export_stale``: the clip was re-cut after its export was made (the export shows the
old range) until the next export.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clips") as batch_op:
        batch_op.add_column(
            sa.Column("export_stale", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("revision", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("clips") as batch_op:
        batch_op.drop_column("revision")
        batch_op.drop_column("export_stale")
