from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from editai.db.base import Base, IdMixin, ProfileScoped, TimestampMixin


class PublicationStatus(StrEnum):
    PENDING = "PENDING"  # not yet accepted by Postiz
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    PUBLISHED = "PUBLISHED"  # handed to Postiz to post now
    FAILED = "FAILED"


class PublishMode(StrEnum):
    NOW = "NOW"
    SCHEDULE = "SCHEDULE"
    DRAFT = "DRAFT"


class Publication(IdMixin, TimestampMixin, ProfileScoped, Base):
    """One clip posted to one Postiz channel (integration) by one publish job.

    Unique per (job, clip, integration): a retried job finds the rows of what it already
    posted and does not post it twice.
    """

    __tablename__ = "publications"
    __table_args__ = (
        ForeignKeyConstraint(
            ["clip_id", "profile_id"],
            ["clips.id", "clips.profile_id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("job_id", "clip_id", "integration_id"),
    )

    clip_id: Mapped[uuid.UUID] = mapped_column(index=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    integration_id: Mapped[str] = mapped_column(String(200))
    integration_provider: Mapped[str | None] = mapped_column(String(100))
    mode: Mapped[PublishMode] = mapped_column(
        Enum(PublishMode, native_enum=False, length=20, create_constraint=True)
    )
    content: Mapped[str] = mapped_column(Text)
    # What Postiz answered for the clip's upload: {"id": ..., "path": ...}.
    postiz_media: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    postiz_post_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[PublicationStatus] = mapped_column(
        Enum(PublicationStatus, native_enum=False, length=20, create_constraint=True),
        default=PublicationStatus.PENDING,
    )
    scheduled_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
