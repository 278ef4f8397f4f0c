"""Words grouped into captions, and each caption wrapped into lines by measured width.

* A caption holds at most ``max_words_per_line`` x ``max_lines`` words; it also ends after
  a sentence end (``. ! ? …``) and before a pause of :data:`PAUSE_SECONDS`.
* Lines are filled greedily: a word goes on the current line while the line keeps at
  most ``max_words_per_line`` words and its measured width (plus the outline on both
  sides) fits the safe width, the frame minus :data:`~.style.SIDE_MARGIN_SHARE` on each
  side; otherwise on a new line, or into the next caption when the lines are used up.
* A word too wide for the safe width on its own becomes a caption by itself, its font
  shrunk until it fits: nothing ever overflows, at any aspect ratio.
* Lines also have to fit vertically: between the margin and the far edge's
  :data:`FAR_MARGIN_SHARE`; fewer lines (or a smaller font) when the frame is too short.
* A caption shows from its first word's start until :data:`LINGER_SECONDS` after its last
  word ends, never past the next caption's start or the clip's end; a gap shorter than
  :data:`PAUSE_SECONDS` before the next caption is bridged (no flicker between captions).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from editai.media.captions.style import SIDE_MARGIN_SHARE, CaptionPosition, CaptionStyle

PAUSE_SECONDS = 0.6
LINGER_SECONDS = 0.4
FAR_MARGIN_SHARE = 0.03
SENTENCE_END = ".!?…"
# Pixels kept free beyond the measured width: shaping differences between Pillow and libass.
WIDTH_SLACK = 4


class Timed(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...


@dataclass(frozen=True, slots=True)
class CaptionWord:
    text: str  # as shown (uppercased when the style says so)
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Caption:
    """Words on screen together: ``lines`` holds how many words each line takes."""

    words: tuple[CaptionWord, ...]
    lines: tuple[int, ...]
    font_size: int
    start: float
    end: float

    def line_words(self) -> list[tuple[CaptionWord, ...]]:
        out, at = [], 0
        for count in self.lines:
            out.append(self.words[at : at + count])
            at += count
        return out


@dataclass(frozen=True, slots=True)
class Frame:
    width: int
    height: int


Measure = Callable[[str, float], float]


def safe_width(style: CaptionStyle, frame: Frame) -> float:
    """Width a line may take: the frame minus the side margins, the outline and the slack."""
    side = math.ceil(frame.width * SIDE_MARGIN_SHARE)
    return frame.width - 2 * side - 2 * style.outline_width - WIDTH_SLACK


def _line_height(size: float, style: CaptionStyle) -> float:
    return size + 2 * style.outline_width


def fitted_size_and_lines(style: CaptionStyle, frame: Frame) -> tuple[int, int]:
    """The font size and line count that fit the frame's height (see the docstring)."""
    size = style.size_for(frame.width, frame.height)
    room = frame.height * (1 - style.margin_percent / 100 - FAR_MARGIN_SHARE)
    if style.position is CaptionPosition.CENTER:
        room = frame.height * (1 - 2 * FAR_MARGIN_SHARE)
    lines = min(style.max_lines, int(room // _line_height(size, style)))
    if lines < 1:
        return max(1, int(room - 2 * style.outline_width)), 1
    return size, lines


def _shrunk(text: str, size: int, limit: float, measure: Measure) -> int:
    width = measure(text, size)
    fitted = max(1, math.floor(size * limit / width)) if width > 0 else size
    while fitted > 1 and measure(text, fitted) > limit:
        fitted -= 1
    return fitted


def _ends_caption(previous: Timed, word: Timed) -> bool:
    return previous.text[-1] in SENTENCE_END or word.start - previous.end >= PAUSE_SECONDS


def layout_captions(
    words: Sequence[Timed],
    style: CaptionStyle,
    frame: Frame,
    measure: Measure,
    clip_seconds: float,
) -> list[Caption]:
    """Captions for ``words`` (seconds of the clip; those starting at or after
    ``clip_seconds`` are dropped), in time order."""
    size, max_lines = fitted_size_and_lines(style, frame)
    limit = safe_width(style, frame)
    ordered = sorted(
        (w for w in words if w.text.strip() and 0 <= w.start < clip_seconds),
        key=lambda w: w.start,
    )
    groups: list[tuple[list[list[CaptionWord]], int]] = []  # (lines, font size)
    current: list[list[CaptionWord]] = []
    previous: Timed | None = None
    for word in ordered:
        shown = word.text.strip().upper() if style.uppercase else word.text.strip()
        item = CaptionWord(shown, word.start, min(max(word.end, word.start), clip_seconds))
        alone = measure(shown, size)
        if alone > limit:
            if current:
                groups.append((current, size))
            groups.append(([[item]], _shrunk(shown, size, limit, measure)))
            current, previous = [], word
            continue
        if current and previous is not None and not _ends_caption(previous, word):
            line = current[-1]
            joined = " ".join([*(w.text for w in line), shown])
            if len(line) < style.max_words_per_line and measure(joined, size) <= limit:
                line.append(item)
            elif len(current) < max_lines:
                current.append([item])
            else:
                groups.append((current, size))
                current = [[item]]
        else:
            if current:
                groups.append((current, size))
            current = [[item]]
        previous = word
    if current:
        groups.append((current, size))
    return _timed(groups, clip_seconds)


def _timed(groups: list[tuple[list[list[CaptionWord]], int]], clip_seconds: float) -> list[Caption]:
    captions = []
    for index, (lines, size) in enumerate(groups):
        words = tuple(w for line in lines for w in line)
        start = words[0].start
        end = max(w.end for w in words) + LINGER_SECONDS
        if index + 1 < len(groups):
            following = groups[index + 1][0][0][0].start
            end = following if following - end < PAUSE_SECONDS else min(end, following)
        end = min(end, clip_seconds)
        if end > start:
            captions.append(Caption(words, tuple(len(line) for line in lines), size, start, end))
    return captions
