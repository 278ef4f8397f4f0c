from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, ForeignKeyConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from editai.db.base import Base, IdMixin, ProfileScoped, TimestampMixin


class Voiceover(IdMixin, TimestampMixin, ProfileScoped, Base):
    """Synthesized speech for a project: an audio file plus its word timings.

    ``words`` is a list of ``{"text": str, "start": float, "end": float}`` in seconds from
    the start of the audio: the provider's own timings where it gives them (Edge TTS word
    boundaries, eSpeak word events), else estimated from the text.
    """

    __tablename__ = "voiceovers"
    __table_args__ = (
        ForeignKeyConstraint(
            ["project_id", "profile_id"],
            ["projects.id", "projects.profile_id"],
            ondelete="CASCADE",
        ),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(index=True)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(32))
    voice_id: Mapped[str] = mapped_column(String(200))
    characters: Mapped[int]
    duration_seconds: Mapped[float]
    media_path: Mapped[str] = mapped_column(String(500))
    size_bytes: Mapped[int]
    words: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    timings_from_provider: Mapped[bool] = mapped_column(default=False)
