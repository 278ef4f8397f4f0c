"""Timed words of a transcript, and the part of them a clip holds.

Stored as JSON (``{"text", "start", "end", "probability"}``, seconds of the source); every
reader goes through :func:`words_from_json`, which drops malformed entries instead of
failing, since the JSON outlives the code that wrote it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from editai.media.voiceover_mix import clean_word


@dataclass(frozen=True, slots=True)
class TranscriptWord:
    """A spoken word: its text, when it starts and ends (seconds) and the model's confidence."""

    text: str
    start: float
    end: float
    probability: float = 1.0

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2


def words_from_json(raw: Iterable[Mapping[str, Any]]) -> tuple[TranscriptWord, ...]:
    """Words as stored, cleaned and sorted by start; malformed entries and words with no
    visible text are skipped; ``end`` is at least ``start``; probability within 0..1."""
    words: list[TranscriptWord] = []
    for item in raw:
        try:
            text = clean_word(str(item["text"]))
            start, end = float(item["start"]), float(item["end"])
            probability = float(item.get("probability", 1.0))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if not (text and math.isfinite(start) and math.isfinite(end) and start >= 0):
            continue
        if not math.isfinite(probability):
            probability = 0.0
        words.append(TranscriptWord(text, start, max(start, end), min(max(probability, 0.0), 1.0)))
    return tuple(sorted(words, key=lambda w: (w.start, w.end)))


def words_to_json(words: Iterable[TranscriptWord]) -> list[dict[str, Any]]:
    return [
        {
            "text": w.text,
            "start": round(w.start, 3),
            "end": round(w.end, 3),
            "probability": round(w.probability, 4),
        }
        for w in words
    ]


def words_in_range(
    words: Sequence[TranscriptWord], start: float, end: float
) -> tuple[TranscriptWord, ...]:
    """The words a range of the source holds, with times relative to ``start``.

    A word belongs to the range when its middle lies in ``[start, end)``: a word cut at the
    range's edge counts where most of it is heard. Its times are clamped to the range, so a
    caption never shows before the clip starts or after it ends.
    """
    length = end - start
    if length <= 0:
        return ()
    return tuple(
        TranscriptWord(
            w.text,
            min(max(w.start - start, 0.0), length),
            min(max(w.end - start, 0.0), length),
            w.probability,
        )
        for w in words
        if start <= w.middle < end
    )
