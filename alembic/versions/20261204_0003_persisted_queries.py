"""persisted queries: documents by sha256, shared by every server process

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 20:10:00

Not tenant data (a document is a request's shape, the same for every profile): no
profile_id and no policy. Only system sessions (the owner) read and write it: the tenant
role gets no grant, and row-level security with no policy denies it every row besides.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import editai.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "persisted_queries",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", editai.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_persisted_queries")),
    )
    op.create_index(
        op.f("ix_persisted_queries_created_at"), "persisted_queries", ["created_at"], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE persisted_queries ENABLE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.drop_index(op.f("ix_persisted_queries_created_at"), table_name="persisted_queries")
    op.drop_table("persisted_queries")
