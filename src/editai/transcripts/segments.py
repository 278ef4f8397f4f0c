"""Segments of a transcript (the model's phrases), their JSON form and clipping to a range.

Stored as JSON (``{"text", "start", "end"}``, seconds of the source), read back through
:func:`segments_from_json`, which drops malformed entries like words_from_json does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TranscriptSegment:
    """A phrase the model heard: its text and when it starts and ends (seconds)."""

    text: str
    start: float
    end: float


def segments_from_json(raw: Iterable[Mapping[str, Any]]) -> tuple[TranscriptSegment, ...]:
    segments: list[TranscriptSegment] = []
    for item in raw:
        try:
            text = " ".join(str(item["text"]).split())
            start, end = float(item["start"]), float(item["end"])
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if not (text and math.isfinite(start) and math.isfinite(end) and start >= 0):
            continue
        segments.append(TranscriptSegment(text, start, max(start, end)))
    return tuple(sorted(segments, key=lambda s: (s.start, s.end)))


def segments_to_json(segments: Iterable[TranscriptSegment]) -> list[dict[str, Any]]:
    return [{"text": s.text, "start": round(s.start, 3), "end": round(s.end, 3)} for s in segments]


def segments_in_range(
    segments: Sequence[TranscriptSegment], start: float, end: float
) -> tuple[TranscriptSegment, ...]:
    """The segments overlapping ``[start, end)``, clamped to it, times relative to ``start``."""
    length = end - start
    if length <= 0:
        return ()
    return tuple(
        TranscriptSegment(s.text, max(s.start - start, 0.0), min(s.end - start, length))
        for s in segments
        if s.end > start and s.start < end
    )
