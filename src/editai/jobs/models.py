from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from editai.db.base import Base, IdMixin, ProfileScoped, TimestampMixin, utcnow

if TYPE_CHECKING:
    from editai.projects.models import Project


class JobStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class JobKind(StrEnum):
    EXTRACT_SEGMENTS = "EXTRACT_SEGMENTS"
    GENERATE_RAW_CLIPS = "GENERATE_RAW_CLIPS"
    EXPORT_CLIPS = "EXPORT_CLIPS"
    SYNTHESIZE_VOICEOVER = "SYNTHESIZE_VOICEOVER"
    ANALYZE_VIDEO = "ANALYZE_VIDEO"
    PUBLISH_CLIPS = "PUBLISH_CLIPS"
    TRANSCRIBE_VIDEO = "TRANSCRIBE_VIDEO"
    RECUT_CLIP = "RECUT_CLIP"


class Job(IdMixin, TimestampMixin, ProfileScoped, Base):
    """Both the domain record of a piece of background work and its queue entry."""

    __tablename__ = "jobs"
    __profile_ondelete__ = "SET NULL"  # job history outlives its profile
    __table_args__ = (
        Index("ix_jobs_status_run_after", "status", "run_after"),
        Index("ix_jobs_profile_created", "profile_id", "created_at", "id"),
        # The fair claim (jobs/claims.py): queued jobs by profile, oldest first; running
        # jobs counted per profile; the newest start of a profile (least recently served).
        Index(
            "ix_jobs_queued_profile",
            "profile_id",
            "run_after",
            "created_at",
            postgresql_where=text("status = 'QUEUED'"),
            sqlite_where=text("status = 'QUEUED'"),
        ),
        Index(
            "ix_jobs_running_profile",
            "profile_id",
            postgresql_where=text("status = 'RUNNING'"),
            sqlite_where=text("status = 'RUNNING'"),
        ),
        Index("ix_jobs_profile_started", "profile_id", "started_at"),
    )

    project_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=20, create_constraint=True),
        default=JobStatus.QUEUED,
    )
    progress: Mapped[float] = mapped_column(default=0.0)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime | None]
    worker_id: Mapped[str | None] = mapped_column(String(200))
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    project: Mapped[Project | None] = relationship(back_populates="jobs", lazy="raise")
