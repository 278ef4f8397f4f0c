from __future__ import annotations

import uuid
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Enum, ForeignKeyConstraint, Index, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from editai.db.base import Base, IdMixin, ProfileScoped, TimestampMixin

if TYPE_CHECKING:
    from editai.projects.models import Project


class SegmentKind(StrEnum):
    SCENE = "SCENE"
    SPEECH = "SPEECH"
    SILENCE = "SILENCE"
    HIGHLIGHT = "HIGHLIGHT"  # a moment a video-understanding model picked (Gemini)


class Segment(IdMixin, TimestampMixin, ProfileScoped, Base):
    __tablename__ = "segments"
    __table_args__ = (
        ForeignKeyConstraint(
            ["project_id", "profile_id"],
            ["projects.id", "projects.profile_id"],
            ondelete="CASCADE",
        ),
        Index("ix_segments_project_start", "project_id", "start_seconds"),
    )

    project_id: Mapped[uuid.UUID]
    kind: Mapped[SegmentKind] = mapped_column(
        Enum(SegmentKind, native_enum=False, length=20, create_constraint=True)
    )
    start_seconds: Mapped[float]
    end_seconds: Mapped[float]
    score: Mapped[float] = mapped_column(default=0.0)
    # Why it was picked, in the analyzer's words (HIGHLIGHT); null for measured spans.
    label: Mapped[str | None] = mapped_column(Text)

    # Joined on (project_id, profile_id): the composite foreign key above.
    project: Mapped[Project] = relationship(back_populates="segments", lazy="raise")
