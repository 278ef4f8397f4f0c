"""Trimming and extending a clip: which part of the source it will show.

Checked when ``updateClip`` is called, before any job exists, so a bad range changes
nothing. With ``snapToWords`` an edge that falls inside a spoken word moves outward to
that word's boundary (the start to the word's start, the end to its end): no word is cut
in half, and the range only grows. An edge in a pause stays where it was asked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from editai.errors import BadUserInput
from editai.transcripts.words import TranscriptWord

# Shorter than a few frames is no clip; FFmpeg would write an empty or one-frame file.
MIN_CLIP_SECONDS = 0.2
# Float noise of stored durations (probe values are rounded to the millisecond).
EPSILON = 1e-6


def checked_range(start: float, end: float, source_seconds: float) -> tuple[float, float]:
    """``(start, end)`` if it is a range of the source a clip can show; else BAD_USER_INPUT
    naming the field and the allowed values."""
    if not math.isfinite(start) or start < 0:
        raise BadUserInput(
            f"startSeconds must be at least 0 and inside the source ({source_seconds:.2f} s)",
            field="startSeconds",
        )
    if not math.isfinite(end) or end > source_seconds + EPSILON:
        raise BadUserInput(
            f"endSeconds must be at most the source duration ({source_seconds:.2f} s)",
            field="endSeconds",
        )
    if end - start < MIN_CLIP_SECONDS:
        raise BadUserInput(
            f"endSeconds must be at least {MIN_CLIP_SECONDS:g} s after startSeconds",
            field="endSeconds",
        )
    return start, min(end, source_seconds)


def snap_to_words(words: Sequence[TranscriptWord], start: float, end: float) -> tuple[float, float]:
    """The range widened so that neither edge cuts a word (words sorted by start)."""
    snapped_start, snapped_end = start, end
    for word in words:
        if word.start < start < word.end:
            snapped_start = min(snapped_start, word.start)
        if word.start < end < word.end:
            snapped_end = max(snapped_end, word.end)
    return snapped_start, snapped_end
