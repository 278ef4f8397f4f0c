"""Where speech lets a clip start and end, and which stretches hold dense speech.

Used by ``generateRawClips`` when the project has a transcript (editai.clips.tasks):

* :func:`speech_spans` turns the transcript's sentences into SPEECH spans for
  ``choose_windows``: each starts just before its first word, runs to the next sentence
  (its pause included) and scores by words per second over that stretch
  (``DENSE_WORDS_PER_SECOND`` and more scores 1). ``choose_windows`` anchors windows at
  span starts and scores them by their spans' overlap-weighted mean, so the best windows
  open on a sentence and hold the most words per second.
* :func:`snap_windows` then moves each chosen window's edges out of words: an edge that
  falls inside a word, or in a gap between words shorter than ``MIN_PAUSE``, moves to the
  nearest pause (a gap of at least ``MIN_PAUSE``, or the silence before the first word /
  after the last), a sentence end counting as ``SENTENCE_BONUS`` seconds nearer. In the
  pause it goes ``LEAD`` before the next word (a start) or ``TAIL`` after the previous one
  (an end), or as near to that as its reach allows. An edge
  moves at most ``MAX_SHIFT_SHARE`` of the clip length, windows never overlap and stay
  inside the source, and a clip keeps at least ``MIN_LENGTH_SHARE`` of its length; where
  no pause is in reach the edge stays where it was.

Pure functions of the words: deterministic, no I/O.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from editai.media.windows import Window
from editai.transcripts.words import TranscriptWord

MIN_PAUSE = 0.3  # seconds between two words that count as a pause
LEAD = 0.2  # a clip starts this long before its first word (within the pause)
TAIL = 0.3  # and ends this long after its last word
SENTENCE_BONUS = 0.5  # seconds: a sentence end is preferred to a nearer mid-sentence pause
MAX_SHIFT_SHARE = 0.35  # of the clip length: how far an edge may move
MIN_LENGTH_SHARE = 0.6  # of the clip length: the shortest a snapped clip may become
DENSE_WORDS_PER_SECOND = 3.0
# Latin and CJK full stops, question and exclamation marks, the ellipsis.
_SENTENCE_END = (".", "?", "!", "\u2026", "\u3002", "\uff1f", "\uff01")


@dataclass(frozen=True, slots=True)
class SpeechSpan:
    """A sentence as a span for ``choose_windows`` (kind SPEECH)."""

    start: float
    end: float
    score: float
    kind: str = "SPEECH"


@dataclass(frozen=True, slots=True)
class Pause:
    """Silence between two words (or before the first / after the last): ``[start, end]``."""

    start: float
    end: float
    after_sentence: bool

    def start_point(self) -> float:
        """Where a clip starting in this pause starts: just before the next word."""
        return max(self.start, self.end - LEAD)

    def end_point(self) -> float:
        """Where a clip ending in this pause ends: just after the previous word."""
        return min(self.end, self.start + TAIL)


def _ends_sentence(word: TranscriptWord) -> bool:
    return word.text.rstrip("\"')»”").endswith(_SENTENCE_END)


def pauses(words: Sequence[TranscriptWord], duration: float) -> list[Pause]:
    """The pauses of the audio, in time order (none when there are no words)."""
    if not words:
        return []
    found = [Pause(0.0, words[0].start, True)]
    for before, after in itertools.pairwise(words):
        if after.start - before.end >= MIN_PAUSE or (
            _ends_sentence(before) and after.start > before.end
        ):
            found.append(Pause(before.end, after.start, _ends_sentence(before)))
    found.append(Pause(words[-1].end, max(duration, words[-1].end), True))
    return found


def sentences(words: Sequence[TranscriptWord]) -> list[list[TranscriptWord]]:
    """Words grouped into sentences (a sentence end or a pause closes one)."""
    groups: list[list[TranscriptWord]] = []
    current: list[TranscriptWord] = []
    for index, word in enumerate(words):
        current.append(word)
        following = words[index + 1] if index + 1 < len(words) else None
        if following is None or _ends_sentence(word) or following.start - word.end >= MIN_PAUSE:
            groups.append(current)
            current = []
    return groups


def speech_spans(words: Sequence[TranscriptWord]) -> list[SpeechSpan]:
    """One SPEECH span per sentence, from just before it to just before the next one (its
    pause included), scored by words per second over that stretch."""
    groups = sentences(words)
    starts = [max(g[0].start - LEAD, 0.0) for g in groups]
    spans: list[SpeechSpan] = []
    for index, group in enumerate(groups):
        start = max(starts[index], spans[-1].end if spans else 0.0)
        end = starts[index + 1] if index + 1 < len(groups) else group[-1].end + TAIL
        seconds = max(end - start, 0.1)
        density = min(len(group) / seconds / DENSE_WORDS_PER_SECOND, 1.0)
        spans.append(SpeechSpan(start, max(end, start), round(density, 4)))
    return spans


def _inside_pause(t: float, found: Sequence[Pause]) -> bool:
    return any(p.start - 1e-6 <= t <= p.end + 1e-6 for p in found)


def _best(
    t: float, found: Sequence[Pause], low: float, high: float, *, starting: bool
) -> float | None:
    """Where in a pause within [low, high] the edge at ``t`` goes: in each pause, its
    preferred point (just before the next word, or just after the previous one) or the
    nearest point to it in reach; of those the nearest ``t``, sentence ends counting
    ``SENTENCE_BONUS`` nearer. None when no pause is in reach."""
    best: tuple[float, float] | None = None
    for pause in found:
        lo, hi = max(pause.start, low), min(pause.end, high)
        if lo > hi + 1e-9:
            continue
        preferred = pause.start_point() if starting else pause.end_point()
        point = min(max(preferred, lo), hi)
        cost = abs(point - t) - (SENTENCE_BONUS if pause.after_sentence else 0.0)
        if best is None or (cost, point) < best:
            best = (cost, point)
    return None if best is None else best[1]


def snap_windows(
    windows: Sequence[Window],
    words: Sequence[TranscriptWord],
    duration: float,
    clip_seconds: float,
) -> list[Window]:
    """``windows`` with their edges moved into pauses (see the module's docstring), in
    the order given. Unchanged when there are no words."""
    if not words or not windows:
        return list(windows)
    found = pauses(words, duration)
    reach = MAX_SHIFT_SHARE * clip_seconds
    shortest = MIN_LENGTH_SHARE * clip_seconds
    by_time = sorted(range(len(windows)), key=lambda i: windows[i].start)
    snapped: dict[int, Window] = {}
    floor = 0.0  # the previous window's (snapped) end: windows never overlap
    for rank, i in enumerate(by_time):
        window = windows[i]
        # An end may pass the next window's start by as far as that start may move: the
        # next window then starts at this end at the earliest (which lies in a pause).
        ceiling = duration
        if rank + 1 < len(by_time):
            ceiling = min(ceiling, windows[by_time[rank + 1]].start + reach)
        start = window.start
        if not _inside_pause(start, found):
            low = max(start - reach, floor, 0.0)
            high = min(start + reach, window.end - shortest)
            moved = _best(start, found, low, high, starting=True)
            start = start if moved is None else moved
        end = window.end
        if not _inside_pause(end, found):
            high = min(end + reach, ceiling, duration)
            low = max(end - reach, start + shortest)
            moved = _best(end, found, low, high, starting=False)
            end = end if moved is None else moved
        start = max(start, floor)
        end = min(max(end, start), duration)
        if not (math.isfinite(start) and math.isfinite(end)) or end - start < shortest:
            start, end = max(window.start, floor), window.end  # nothing better in reach
        snapped[i] = Window(round(start, 3), round(end, 3), window.score)
        floor = snapped[i].end
    return [snapped[i] for i in range(len(windows))]
