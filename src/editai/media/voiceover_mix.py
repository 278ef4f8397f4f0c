"""Laying a voice-over on a clip: where the voice speaks, how the original is ducked
under it, and which phrases its subtitles show when.

* Speech: ``silencedetect`` over the voice file (floor :data:`SPEECH_FLOOR_DB`, pauses of
  at least :data:`MIN_PAUSE_SECONDS`); the rest is speech. Spans less than
  :data:`MERGE_GAP_SECONDS` apart are joined, so a breath between sentences does not make
  the original pump up and down.
* Ducking: gain automation on the original audio, a ``volume`` expression evaluated per
  audio frame (~21 ms). Its gain falls linearly to ``-ducking_db`` over
  :data:`ATTACK_SECONDS` *before* each span (the voice is a file: its future is known),
  holds while the voice speaks and comes back over :data:`RELEASE_SECONDS`. Gain
  automation rather than ``sidechaincompress``: a compressor's reduction depends on how
  far its key rises above the threshold, so it cannot promise the requested dB.
* Phrases: words in time order; a phrase ends after :data:`MAX_PHRASE_WORDS` words, when
  the next word would overflow the line's character budget, after ``. ! ?`` or before a
  pause of :data:`PHRASE_PAUSE_SECONDS`. A phrase is on screen from its first word's
  start to its last word's end (plus the voice's start in the clip), never past the next
  phrase's start or the clip's end.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ffmpeg

from editai.media.binaries import Binaries
from editai.media.ffmpeg import run_ffmpeg_stderr

DEFAULT_DUCKING_DB = 12.0
MAX_DUCKING_DB = 40.0
SPEECH_FLOOR_DB = -45.0
MIN_PAUSE_SECONDS = 0.25
MERGE_GAP_SECONDS = 0.8
ATTACK_SECONDS = 0.15
RELEASE_SECONDS = 0.4
MAX_PHRASE_WORDS = 5
MAX_PHRASE_CHARS = 32
PHRASE_PAUSE_SECONDS = 0.5
MIN_PHRASE_SECONDS = 0.1
MAX_WORD_CHARS = 100
SENTENCE_END = ".!?…"

Span = tuple[float, float]


@dataclass(frozen=True, slots=True)
class TimedWord:
    """A spoken word, seconds from the start of the voice-over's audio."""

    text: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Phrase:
    """Subtitle text and when it is shown, in seconds of the clip."""

    text: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class VoiceoverMix:
    """What to lay on a clip: the voice's audio file, where in the clip it starts, how far
    the original is lowered under it and (optionally) its words for subtitles."""

    path: Path
    start_seconds: float = 0.0
    ducking_db: float = DEFAULT_DUCKING_DB
    words: tuple[TimedWord, ...] = field(default=())
    subtitles: bool = True


def validate_voiceover(voice: VoiceoverMix, duration: float) -> None:
    start, db = voice.start_seconds, voice.ducking_db
    if not (math.isfinite(start) and 0 <= start < duration):
        raise ValueError(
            f"the voice-over must start within the clip (0 to {duration:g} s), got {start:g}"
        )
    if not (math.isfinite(db) and 0 <= db <= MAX_DUCKING_DB):
        raise ValueError(f"ducking must be between 0 and {MAX_DUCKING_DB:g} dB, got {db:g}")


def clean_word(text: str) -> str:
    """One line of text: control characters become spaces, runs of space collapse."""
    spaced = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    return " ".join(spaced.split())[:MAX_WORD_CHARS]


def words_from_json(raw: Iterable[Mapping[str, Any]]) -> tuple[TimedWord, ...]:
    """Words as stored (``{"text", "start", "end"}``), cleaned; malformed entries and words
    with no visible text are skipped, ``end`` is at least ``start``."""
    words: list[TimedWord] = []
    for item in raw:
        try:
            text = clean_word(str(item["text"]))
            start, end = float(item["start"]), float(item["end"])
        except (KeyError, TypeError, ValueError):
            continue
        if text and math.isfinite(start) and math.isfinite(end) and start >= 0:
            words.append(TimedWord(text, start, max(start, end)))
    return tuple(sorted(words, key=lambda w: w.start))


def group_phrases(
    words: Sequence[TimedWord],
    *,
    offset: float,
    clip_seconds: float,
    max_chars: int = MAX_PHRASE_CHARS,
    max_words: int = MAX_PHRASE_WORDS,
) -> list[Phrase]:
    """Short phrases of ``words`` placed ``offset`` seconds into a clip of ``clip_seconds``
    (phrases starting at or after its end are dropped, the last one is cut there)."""
    cleaned = (TimedWord(clean_word(w.text), w.start, max(w.start, w.end)) for w in words)
    groups: list[list[TimedWord]] = []
    for word in sorted((w for w in cleaned if w.text), key=lambda w: w.start):
        current = groups[-1] if groups else None
        if current is not None:
            last = current[-1]
            joined = len(" ".join(w.text for w in current)) + 1 + len(word.text)
            if not (
                len(current) >= max_words
                or joined > max_chars
                or last.text[-1] in SENTENCE_END
                or word.start - last.end >= PHRASE_PAUSE_SECONDS
            ):
                current.append(word)
                continue
        groups.append([word])
    phrases: list[Phrase] = []
    for index, group in enumerate(groups):
        start = offset + group[0].start
        end = offset + max(w.end for w in group)
        end = max(end, start + MIN_PHRASE_SECONDS)
        if index + 1 < len(groups):
            end = min(end, offset + groups[index + 1][0].start)
        end = min(end, clip_seconds)
        if start < clip_seconds and end > start:
            phrases.append(Phrase(" ".join(w.text for w in group), start, end))
    return phrases


# --- where the voice speaks --------------------------------------------------------------

_SILENCE_START = re.compile(r"silence_start:\s*(-?[\d.]+)")
_SILENCE_END = re.compile(r"silence_end:\s*(-?[\d.]+)")


def parse_silences(lines: Iterable[str], total: float) -> list[Span]:
    """``silencedetect``'s log as (start, end) pairs; an open silence runs to ``total``."""
    silences: list[Span] = []
    opened: float | None = None
    for line in lines:
        if (m := _SILENCE_START.search(line)) is not None:
            opened = max(0.0, float(m.group(1)))
        elif (m := _SILENCE_END.search(line)) is not None and opened is not None:
            silences.append((opened, float(m.group(1))))
            opened = None
    if opened is not None:
        silences.append((opened, total))
    return silences


def speech_spans(silences: Sequence[Span], total: float) -> list[Span]:
    """The complement of ``silences`` in [0, total], spans closer than the merge gap joined."""
    spans: list[Span] = []
    at = 0.0
    for start, end in sorted(silences):
        if start > at:
            spans.append((at, min(start, total)))
        at = max(at, end)
    if at < total:
        spans.append((at, total))
    return merge_spans([s for s in spans if s[1] - s[0] > 0.02], MERGE_GAP_SECONDS)


def merge_spans(spans: Sequence[Span], gap: float) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start - merged[-1][1] < gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


async def detect_speech(binaries: Binaries, voice: Path, total: float) -> list[Span]:
    """Where the voice file is not silent, seconds from its start."""
    args = (
        ffmpeg.input(str(voice))["a:0"]
        .filter("silencedetect", noise=f"{SPEECH_FLOOR_DB}dB", d=MIN_PAUSE_SECONDS)
        .output("-", format="null")
        .get_args()
    )
    lines = await run_ffmpeg_stderr(binaries, args, max_lines=5000)
    return speech_spans(parse_silences(lines, total), total)


def duck_expression(spans: Sequence[Span], ducking_db: float) -> str | None:
    """``volume`` expression lowering the gain by ``ducking_db`` over ``spans`` (seconds of
    the clip), None when there is nothing to duck. Spans are at least the merge gap apart,
    wider than attack + release, so their ramps never overlap and the sum stays <= 1."""
    if ducking_db <= 0 or not spans:
        return None
    assert MERGE_GAP_SECONDS >= ATTACK_SECONDS + RELEASE_SECONDS
    floor = 10 ** (-ducking_db / 20)
    shapes = "+".join(
        f"min(clip((t-{a - ATTACK_SECONDS:.4f})/{ATTACK_SECONDS},0,1),"
        f"clip(({b + RELEASE_SECONDS:.4f}-t)/{RELEASE_SECONDS},0,1))"
        for a, b in spans
    )
    return f"1-{1 - floor:.6f}*({shapes})"
