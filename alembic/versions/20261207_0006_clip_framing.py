"""Clip framing: clips.reframe, clips.layout, clips.multiple_faces

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 08:30:00

How a clip was framed (speaker-following reframing), kept on the clip so that a re-cut
frames it the same way. The server defaults (CENTER, CROP, FIT_BLUR) give every existing
clip its meaning: a centred crop. Each column is a VARCHAR with a CHECK constraint, like
clips.aspect.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("reframe", ("CENTER", "FACE"), 10, "CENTER"),
    ("layout", ("CROP", "FIT_BLUR"), 10, "CROP"),
    ("multiple_faces", ("FIT_BLUR", "LARGEST_FACE"), 20, "FIT_BLUR"),
)
ENUM_NAMES = {"reframe": "reframe", "layout": "cliplayout", "multiple_faces": "multiplefaces"}


def upgrade() -> None:
    # SQLite: the CHECK constraints need the table re-created (batch copies the rows).
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("clips", recreate="always" if sqlite else "auto") as batch_op:
        for name, values, length, default in COLUMNS:
            batch_op.add_column(
                sa.Column(
                    name,
                    sa.Enum(
                        *values,
                        name=ENUM_NAMES[name],
                        native_enum=False,
                        create_constraint=True,
                        length=length,
                    ),
                    server_default=default,
                    nullable=False,
                )
            )


def downgrade() -> None:
    with op.batch_alter_table("clips") as batch_op:
        for name, *_ in reversed(COLUMNS):
            # SQLite's copy would keep the CHECK of a dropped column: drop it first.
            batch_op.drop_constraint(op.f(f"ck_clips_{ENUM_NAMES[name]}"), type_="check")
            batch_op.drop_column(name)
