from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from editai.db.base import Base, IdMixin, ProfileScoped, TimestampMixin


class PublicationStatus(StrEnum):
    PENDING = "PENDING"
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    PUBLISHED = "PUBLISHED"
    FAILED = "FAILED"


class Publication(IdMixin, TimestampMixin, ProfileScoped, Base):
    __tablename__ = "publications"
    __table_args__ = (
        ForeignKeyConstraint(
            ["clip_id", "profile_id"],
            ["clips.id", "clips.profile_id"],
            ondelete="CASCADE",
        ),
    )

    clip_id: Mapped[uuid.UUID] = mapped_column(index=True)
    postiz_post_id: Mapped[str | None] = mapped_column(String(200))
    integrations: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[PublicationStatus] = mapped_column(
        Enum(PublicationStatus, native_enum=False, length=20, create_constraint=True),
        default=PublicationStatus.PENDING,
    )
    scheduled_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
