from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Enum, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from editai.db.base import Base, IdMixin, ProfileScoped, TimestampMixin

if TYPE_CHECKING:
    from editai.clips.models import Clip
    from editai.jobs.models import Job
    from editai.segments.models import Segment


class ProjectStatus(StrEnum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


class Project(IdMixin, TimestampMixin, ProfileScoped, Base):
    __tablename__ = "projects"
    __table_args__ = (
        # Target of the composite foreign keys that pin children to the same profile.
        UniqueConstraint("id", "profile_id"),
        # Keyset pagination: newest first within a profile.
        Index("ix_projects_profile_created", "profile_id", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ProjectStatus] = mapped_column(
        Enum(ProjectStatus, native_enum=False, length=20, create_constraint=True),
        default=ProjectStatus.ACTIVE,
    )
    # Source video (filled by the media pipeline).
    source_path: Mapped[str | None] = mapped_column(String(1000))
    source_filename: Mapped[str | None] = mapped_column(String(255))
    source_duration_seconds: Mapped[float | None]
    source_width: Mapped[int | None]
    source_height: Mapped[int | None]
    source_fps: Mapped[float | None]
    source_size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    source_video_codec: Mapped[str | None] = mapped_column(String(50))
    source_audio_codec: Mapped[str | None] = mapped_column(String(50))
    source_uploaded_at: Mapped[datetime | None]

    # lazy="raise": never an implicit query (load explicitly, e.g. selectinload, so the
    # tenant hook filters it). The database cascades deletes of rows not loaded.
    clips: Mapped[list[Clip]] = relationship(
        back_populates="project", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )
    segments: Mapped[list[Segment]] = relationship(
        back_populates="project", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )
    # Jobs outlive their project (ON DELETE SET NULL): no delete cascade.
    jobs: Mapped[list[Job]] = relationship(
        back_populates="project", lazy="raise", passive_deletes=True
    )
