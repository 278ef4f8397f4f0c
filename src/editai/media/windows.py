"""Choosing where clips go: ``count`` non-overlapping windows of ``clip_seconds``.

Rules (pure and deterministic: the same inputs, in any span order, give the same output):

* ``clip_seconds`` must be > 0 and <= ``duration``; ``count`` >= 1; and the windows must
  fit side by side: ``count * clip_seconds <= duration`` (windows are half-open
  ``[start, start + clip_seconds)``, so touching windows do not overlap). Otherwise
  ValueError. Whenever these hold, ``count`` windows are returned.
* Candidates are the starts of SCENE, SPEECH and HIGHLIGHT spans (SILENCE spans never
  anchor a window), moved left if needed so the window ends by ``duration``.
* A window's score is ``0.5 * anchor + 0.5 * coverage``: ``anchor`` is the best score
  among spans starting at that point, ``coverage`` the overlap-weighted mean score of all
  spans the window covers (silence pulls it down).
* HIGHLIGHT spans (moments a video-understanding model picked) outrank measured ones: a
  window anchored at a highlight comes before every window anchored only at a SCENE or
  SPEECH start, whatever their scores (so a highlight beats a scene cut of equal, or even
  higher, score). Scores order the windows within each of the two ranks. Why: measured
  spans say where the picture cuts and the sound is loud; a highlight says where the
  content is worth a clip, which is what the analysis was asked for. Measured anchors
  still fill the windows the highlights leave over, and with no highlights nothing
  changes.
* Candidates are taken best rank first, then best score (ties: earlier start), and kept
  if they overlap no chosen window and the windows still missing can still be fitted
  into the free gaps.
* Windows still missing (no spans, or too few usable candidates) are spread evenly over
  the free gaps: each gap gets windows in turn (largest share of free time first) and a
  gap's windows are spaced evenly with equal slack around them. With no spans at all
  this is the plain evenly spread layout.

The result lists the span-anchored windows in the order taken (highlights first, best score
first within a rank), then the filled ones by time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

EPSILON = 1e-9
ANCHOR_KINDS = frozenset({"SCENE", "SPEECH", "HIGHLIGHT"})
HIGHLIGHT = "HIGHLIGHT"


class Span(Protocol):
    """What windows need from a span (``analysis.SpanScore`` or a stored segment)."""

    @property
    def kind(self) -> str: ...

    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float: ...

    @property
    def score(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Window:
    start: float
    end: float
    score: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def _validate(duration: float, clip_seconds: float, count: int) -> None:
    if not (math.isfinite(duration) and duration > 0):
        raise ValueError(f"duration must be a positive number of seconds, got {duration}")
    if not (math.isfinite(clip_seconds) and clip_seconds > 0):
        raise ValueError(f"clip length must be positive, got {clip_seconds} s")
    if clip_seconds > duration + EPSILON:
        raise ValueError(
            f"clip length {clip_seconds:g} s is longer than the video ({duration:g} s)"
        )
    if count < 1:
        raise ValueError(f"at least one clip is needed, got {count}")
    if count * clip_seconds > duration + EPSILON:
        fits = int((duration + EPSILON) // clip_seconds)
        raise ValueError(
            f"{count} clips of {clip_seconds:g} s do not fit in {duration:g} s without "
            f"overlapping (at most {fits})"
        )


def _coverage(start: float, end: float, spans: Sequence[Span]) -> float:
    weighted = total = 0.0
    for span in spans:
        overlap = min(end, span.end) - max(start, span.start)
        if overlap > EPSILON:
            weighted += overlap * span.score
            total += overlap
    return weighted / total if total > 0 else 0.0


def _gaps(chosen: Sequence[Window], duration: float) -> list[tuple[float, float]]:
    gaps: list[tuple[float, float]] = []
    cursor = 0.0
    for window in sorted(chosen, key=lambda w: w.start):
        if window.start - cursor > EPSILON:
            gaps.append((cursor, window.start))
        cursor = max(cursor, window.end)
    if duration - cursor > EPSILON:
        gaps.append((cursor, duration))
    return gaps


def _capacity(length: float, clip_seconds: float) -> int:
    return int((length + EPSILON) // clip_seconds)


def _free_capacity(chosen: Sequence[Window], duration: float, clip_seconds: float) -> int:
    return sum(_capacity(b - a, clip_seconds) for a, b in _gaps(chosen, duration))


def _overlaps(start: float, end: float, chosen: Sequence[Window]) -> bool:
    return any(start < w.end - EPSILON and w.start < end - EPSILON for w in chosen)


def _fill(
    chosen: list[Window],
    missing: int,
    duration: float,
    clip_seconds: float,
    spans: Sequence[Span],
) -> list[Window]:
    gaps = _gaps(chosen, duration)
    assigned = [0] * len(gaps)
    for _ in range(missing):
        best = max(
            (i for i, (a, b) in enumerate(gaps) if assigned[i] < _capacity(b - a, clip_seconds)),
            key=lambda i: ((gaps[i][1] - gaps[i][0]) / (assigned[i] + 1), -i),
        )
        assigned[best] += 1
    filled: list[Window] = []
    for (a, b), m in zip(gaps, assigned, strict=True):
        slack = max(0.0, (b - a) - m * clip_seconds)
        for j in range(m):
            start = min(a + slack * (j + 1) / (m + 1) + j * clip_seconds, duration - clip_seconds)
            start = max(start, 0.0)
            end = start + clip_seconds
            filled.append(Window(start, end, round(0.5 * _coverage(start, end, spans), 6)))
    return filled


def choose_windows(
    duration: float, clip_seconds: float, count: int, spans: Sequence[Span]
) -> list[Window]:
    """``count`` non-overlapping windows of exactly ``clip_seconds`` in [0, duration]."""
    _validate(duration, clip_seconds, count)
    ordered = sorted(spans, key=lambda s: (s.start, s.end, s.kind, s.score))
    usable = [
        s
        for s in ordered
        if math.isfinite(s.start) and math.isfinite(s.end) and math.isfinite(s.score)
    ]
    latest = duration - clip_seconds
    # start -> (rank, anchor): rank 1 when a highlight starts there; the best score there.
    anchors: dict[float, tuple[int, float]] = {}
    for span in usable:
        if span.kind not in ANCHOR_KINDS or span.start >= duration:
            continue
        start = min(max(span.start, 0.0), latest)
        rank, anchor = anchors.get(start, (0, -math.inf))
        anchors[start] = (max(rank, int(span.kind == HIGHLIGHT)), max(anchor, span.score))
    ranked = sorted(
        (
            (
                rank,
                Window(
                    start,
                    start + clip_seconds,
                    round(0.5 * anchor + 0.5 * _coverage(start, start + clip_seconds, usable), 6),
                ),
            )
            for start, (rank, anchor) in anchors.items()
        ),
        key=lambda rw: (-rw[0], -rw[1].score, rw[1].start),
    )
    chosen: list[Window] = []
    for _rank, candidate in ranked:
        if len(chosen) == count:
            break
        if _overlaps(candidate.start, candidate.end, chosen):
            continue
        trial = [*chosen, candidate]
        if _free_capacity(trial, duration, clip_seconds) >= count - len(trial):
            chosen = trial
    if len(chosen) < count:
        filled = _fill(chosen, count - len(chosen), duration, clip_seconds, usable)
        chosen += sorted(filled, key=lambda w: w.start)
    return chosen
