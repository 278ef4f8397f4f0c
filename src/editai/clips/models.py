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
    status: Mapped[ClipStatus] = mapped_column(
        Enum(ClipStatus, native_enum=False, length=20, create_constraint=True),
        default=ClipStatus.PENDING,
    )
    media_path: Mapped[str | None] = mapped_column(String(1000))
    export_path: Mapped[str | None] = mapped_column(String(1000))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # The export's file (export_path), counted by the storage quota beside the clip's own.
    export_size_bytes: Mapped[int | None] = mapped_column(BigInteger)

    # Joined on (project_id, profile_id): the composite foreign key above.
    project: Mapped[Project] = relationship(back_populates="clips", lazy="raise")
