from __future__ import annotations

import uuid
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Enum,
    ForeignKeyConstraint,
    Index,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from editai.db.base import Base, IdMixin, ProfileScoped, TimestampMixin

if TYPE_CHECKING:
    from editai.projects.models import Project


class ClipAspect(StrEnum):
    SOURCE = "SOURCE"
    R9_16 = "R9_16"
    R1_1 = "R1_1"
    R16_9 = "R16_9"


class Reframe(StrEnum):
    """How a crop is aimed: at the frame's centre, or following the faces (reframe/)."""

    CENTER = "CENTER"
    FACE = "FACE"


class ClipLayout(StrEnum):
    """CROP fills the frame with a crop; FIT_BLUR shows the whole source frame, scaled to
    fit, over a blurred copy of itself that fills the rest."""

    CROP = "CROP"
    FIT_BLUR = "FIT_BLUR"


class MultipleFaces(StrEnum):
    """What a FACE clip does in a shot with two or more faces."""

    FIT_BLUR = "FIT_BLUR"
    LARGEST_FACE = "LARGEST_FACE"


class ClipStatus(StrEnum):
    PENDING = "PENDING"
    READY = "READY"
    EXPORTED = "EXPORTED"
    FAILED = "FAILED"


class Clip(IdMixin, TimestampMixin, ProfileScoped, Base):
    __tablename__ = "clips"
    __table_args__ = (
        # A clip's project is always in the clip's own profile.
        ForeignKeyConstraint(
            ["project_id", "profile_id"],
            ["projects.id", "projects.profile_id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("id", "profile_id"),
        Index("ix_clips_project_created", "project_id", "created_at", "id"),
    )

    project_id: Mapped[uuid.UUID]
    variant_index: Mapped[int] = mapped_column(default=0)
    start_seconds: Mapped[float]
    end_seconds: Mapped[float]
    aspect: Mapped[ClipAspect] = mapped_column(
        Enum(ClipAspect, native_enum=False, length=10, create_constraint=True),
        default=ClipAspect.SOURCE,
    )
    # How the clip is framed, kept so that a re-cut frames it the same way. The server
    # defaults give rows from before these columns their meaning: a centred crop.
    reframe: Mapped[Reframe] = mapped_column(
        Enum(Reframe, native_enum=False, length=10, create_constraint=True),
        default=Reframe.CENTER,
        server_default=Reframe.CENTER.value,
    )
    layout: Mapped[ClipLayout] = mapped_column(
        Enum(ClipLayout, native_enum=False, length=10, create_constraint=True),
        default=ClipLayout.CROP,
        server_default=ClipLayout.CROP.value,
    )
    multiple_faces: Mapped[MultipleFaces] = mapped_column(
        Enum(MultipleFaces, native_enum=False, length=20, create_constraint=True),
        default=MultipleFaces.FIT_BLUR,
        server_default=MultipleFaces.FIT_BLUR.value,
    )
    status: Mapped[ClipStatus] = mapped_column(
        Enum(ClipStatus, native_enum=False, length=20, create_constraint=True),
        default=ClipStatus.PENDING,
    )
    media_path: Mapped[str | None] = mapped_column(String(1000))
    export_path: Mapped[str | None] = mapped_column(String(1000))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # Re-cut since its export was made (updateClip): the export shows the old range.
    export_stale: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Re-cuts asked so far; a re-cut job applies only if it is still the latest (recut.py).
    revision: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # The export's file (export_path), counted by the storage quota beside the clip's own.
    export_size_bytes: Mapped[int | None] = mapped_column(BigInteger)

    # Joined on (project_id, profile_id): the composite foreign key above.
    project: Mapped[Project] = relationship(back_populates="clips", lazy="raise")
