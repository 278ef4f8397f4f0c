"""The transcript of a project's source video: one row per project, overwritten by a re-run."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from editai.db.base import Base, IdMixin, ProfileScoped, TimestampMixin
from editai.transcripts.segments import TranscriptSegment, segments_from_json
from editai.transcripts.words import TranscriptWord, words_from_json


class Transcript(IdMixin, TimestampMixin, ProfileScoped, Base):
    """What was said in the source video, with word timings in seconds of the source.

    ``segments`` is a list of ``{"text", "start", "end"}`` (the model's sentences/phrases),
    ``words`` a list of ``{"text", "start", "end", "probability"}`` (see words.py). Both are
    read through :meth:`segment_list` / :meth:`word_list`, which skip malformed entries.
    """

    __tablename__ = "transcripts"
    __table_args__ = (
        # A transcript's project is always in the transcript's own profile.
        ForeignKeyConstraint(
            ["project_id", "profile_id"],
            ["projects.id", "projects.profile_id"],
            ondelete="CASCADE",
        ),
        # One transcript per project: it describes the project's (single) source video.
        UniqueConstraint("project_id"),
    )

    project_id: Mapped[uuid.UUID]
    language: Mapped[str] = mapped_column(String(16))
    # Seconds of audio transcribed (the source's audio stream).
    duration_seconds: Mapped[float]
    # Which model wrote it, e.g. "whisper-base-int8".
    model: Mapped[str] = mapped_column(String(100))
    segments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    words: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    def word_list(self) -> tuple[TranscriptWord, ...]:
        # Parsed once per loaded value: every Clip.transcript of a page reads the same row
        # (one DataLoader key per project), and a long talk holds thousands of words.
        raw = self.words or []
        cached: tuple[object, tuple[TranscriptWord, ...]] | None = getattr(
            self, "_parsed_words", None
        )
        if cached is None or cached[0] is not raw:
            cached = (raw, words_from_json(raw))
            self._parsed_words = cached
        return cached[1]

    def segment_list(self) -> tuple[TranscriptSegment, ...]:
        return segments_from_json(self.segments or [])
