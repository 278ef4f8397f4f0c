"""Captions rendered by the real export (libass in FFmpeg) and read back as pixels.

The videos are black and silent, so every bright pixel of an export is caption text or
its outline. Frames are decoded at chosen times, well away (>= 0.08 s) from the event
boundaries, which are whole centiseconds, and 25 fps frames are 0.04 s apart. The folder
holding the videos, the ASS file and the outputs has ``' : , [ ] ;`` in its name: the
``subtitles`` filter's path must survive both levels of FFmpeg's escaping.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from editai.media.binaries import Binaries
from editai.media.captions.burn import CaptionRequest
from editai.media.captions.style import (
    SIDE_MARGIN_SHARE,
    CaptionPosition,
    CaptionStyle,
    HighlightMode,
)
from editai.media.export import export_clip
from editai.media.voiceover_mix import TimedWord
from tests.media.captions_frames import (
    black_video,
    bounding_box,
    bright,
    every_frame,
    frame_at,
    near,
)

SECONDS = 4.0
WIDE, TALL = (640, 360), (360, 640)
GREEN = (0, 255, 0)


@pytest.fixture(scope="module")
async def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("captions") / "it's: [odd], isn't; it"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
async def sources(binaries: Binaries, folder: Path) -> dict[tuple[int, int], Path]:
    return {
        size: await black_video(binaries, folder / f"black-{size[0]}x{size[1]}.mp4", *size, SECONDS)
        for size in (WIDE, TALL)
    }


async def render(
    binaries: Binaries,
    source: Path,
    size: tuple[int, int],
    words: list[TimedWord],
    name: str,
    title: str | None = None,
    **style: Any,
) -> Path:
    out = source.parent / f"{name}.mp4"
    await export_clip(
        binaries,
        source,
        out,
        height=size[1],
        subtitle_text=title,
        mute_ranges=[],
        duration=SECONDS,
        work_dir=source.parent,
        captions=CaptionRequest(words, CaptionStyle(**style)),
        preset="ultrafast",
    )
    return out


def spoken(*timings: tuple[str, float, float]) -> list[TimedWord]:
    return [TimedWord(text, start, end) for text, start, end in timings]


async def test_the_highlight_appears_at_the_words_time_and_not_before(
    binaries: Binaries, sources: dict[tuple[int, int], Path]
) -> None:
    words = spoken(("one", 0.5, 1.0), ("two", 1.2, 1.7), ("three", 1.9, 2.4))
    out = await render(binaries, sources[WIDE], WIDE, words, "highlight", highlight_color="#00FF00")
    frames = {t: await frame_at(binaries, out, t, WIDE) for t in (0.3, 0.8, 1.1, 1.4, 2.1)}
    assert not bright(frames[0.3]).any()  # before the first word: nothing on screen
    boxes = {}
    for t in (0.8, 1.1, 1.4, 2.1):
        box = bounding_box(near(frames[t], GREEN))
        assert box is not None, f"no highlight at {t} s"
        boxes[t] = box
        white = bounding_box(near(frames[t], (255, 255, 255)))
        assert white is not None, f"no white words at {t} s"
    # "one" stays highlighted until "two" starts (1.2 s); then "two", right of it, then "three".
    assert boxes[0.8] == pytest.approx(boxes[1.1], abs=2)
    assert boxes[1.1][2] < boxes[1.4][0]
    assert boxes[1.4][2] < boxes[2.1][0]
    # Before its time, where "two" will be highlighted shows no green at all.
    left, top, right, bottom = boxes[1.4]
    assert not near(frames[1.1], GREEN)[top : bottom + 1, left : right + 1].any()
    assert bright(frames[1.1])[top : bottom + 1, left : right + 1].any()


LONG_TEXT = (
    "Supercalifragilisticexpialidocious antidisestablishmentarianism is a mouthful, "
    "and so are incomprehensibilities, uncharacteristically, when spoken quickly by "
    "enthusiastic presenters everywhere"
)


@pytest.mark.parametrize("size", [WIDE, TALL], ids=["16x9", "9x16"])
async def test_no_caption_pixel_lies_outside_the_safe_area(
    binaries: Binaries, sources: dict[tuple[int, int], Path], size: tuple[int, int]
) -> None:
    words = [
        TimedWord(text, 0.1 + 0.2 * i, 0.25 + 0.2 * i) for i, text in enumerate(LONG_TEXT.split())
    ]
    assert words[-1].end < SECONDS
    style: dict[str, Any] = {
        "font_size": 48,
        "outline_color": "#808080",  # grey on black: the outline counts as caption pixels
        "outline_width": 3.0,
        "max_words_per_line": 4,
        "max_lines": 3,
        "margin_percent": 8.0,
    }
    out = await render(binaries, sources[size], size, words, f"safe-{size[0]}x{size[1]}", **style)
    width, height = size
    side = math.ceil(width * SIDE_MARGIN_SHARE)
    bottom_limit = height - round(height * 0.08)
    shown = widest = tallest = 0
    for frame in await every_frame(binaries, out, size):
        box = bounding_box(bright(frame, level=40))
        if box is None:
            continue
        shown += 1
        left, top, right, bottom = box
        assert left >= side - 1, (box, side)
        assert right <= width - side, (box, width - side)
        assert top >= 0
        assert bottom <= bottom_limit + 3, (box, bottom_limit)
        widest, tallest = max(widest, right - left + 1), max(tallest, bottom - top + 1)
    assert shown >= 0.7 * SECONDS * 25  # captions were on screen nearly all the time
    # The room was used: a line (the shrunk long word or a wrapped line) spans most of the
    # safe width, and some caption has several lines.
    assert widest >= 0.8 * (width - 2 * side)
    assert tallest >= 1.8 * 48 * 0.7


async def test_reveal_shows_more_text_over_time(
    binaries: Binaries, sources: dict[tuple[int, int], Path]
) -> None:
    words = spoken(("words", 0.5, 0.9), ("appear", 1.0, 1.4), ("one", 1.5, 1.9), ("by", 2.0, 2.2))
    out = await render(
        binaries,
        sources[TALL],
        TALL,
        words,
        "reveal",
        highlight_mode=HighlightMode.REVEAL,
        highlight_color="#FFFFFF",
        max_lines=3,
    )
    counts = [
        int(bright(await frame_at(binaries, out, t, TALL)).sum()) for t in (0.3, 0.7, 1.2, 1.7, 2.1)
    ]
    assert counts[0] == 0
    assert all(a < b for a, b in itertools.pairwise(counts)), counts
    # Layout does not jump: the first word keeps its place while later ones appear.
    first = bounding_box(bright(await frame_at(binaries, out, 0.7, TALL)))
    later = await frame_at(binaries, out, 2.1, TALL)
    assert first is not None
    left, top, right, bottom = first
    region = bright(later)[top : bottom + 1, left : right + 1]
    assert region.sum() >= 0.9 * bright(await frame_at(binaries, out, 0.7, TALL)).sum()


async def test_uppercase_draws_capitals(
    binaries: Binaries, sources: dict[tuple[int, int], Path]
) -> None:
    # x-height letters only: in lowercase nothing rises above the x-height.
    words = spoken(("ocean", 0.2, 3.0))
    heights = []
    for upper in (False, True):
        out = await render(
            binaries, sources[WIDE], WIDE, words, f"case-{upper}", uppercase=upper, outline_width=0
        )
        box = bounding_box(bright(await frame_at(binaries, out, 1.0, WIDE)))
        assert box is not None
        heights.append(box[3] - box[1] + 1)
    assert heights[1] > 1.25 * heights[0], heights


@pytest.mark.parametrize("position", [CaptionPosition.TOP, CaptionPosition.BOTTOM])
async def test_position_top_or_bottom_with_its_margin(
    binaries: Binaries, sources: dict[tuple[int, int], Path], position: CaptionPosition
) -> None:
    words = spoken(("where", 0.2, 1.0), ("am", 1.1, 1.5), ("I", 1.6, 3.0))
    out = await render(
        binaries,
        sources[TALL],
        TALL,
        words,
        f"position-{position.value}",
        position=position,
        margin_percent=15.0,
        outline_width=0,
    )
    box = bounding_box(bright(await frame_at(binaries, out, 1.2, TALL)))
    assert box is not None
    height = TALL[1]
    margin = round(height * 0.15)
    if position is CaptionPosition.TOP:
        assert margin - 2 <= box[1] < margin + 0.1 * height
    else:
        assert height - margin - 0.1 * height < box[3] <= height - margin + 2
    mean_x = (box[0] + box[2]) / 2
    assert abs(mean_x - TALL[0] / 2) < 0.05 * TALL[0]  # centred


@pytest.mark.parametrize("position", [CaptionPosition.TOP, CaptionPosition.BOTTOM])
async def test_the_title_takes_the_other_end(
    binaries: Binaries, sources: dict[tuple[int, int], Path], position: CaptionPosition
) -> None:
    words = spoken(("late", 2.0, 3.0))
    out = await render(
        binaries, sources[WIDE], WIDE, words, f"title-{position.value}", "Title", position=position
    )
    half = WIDE[1] // 2
    before = bright(await frame_at(binaries, out, 1.0, WIDE))  # the title alone
    title_on_top = bool(before[:half].any())
    assert title_on_top != bool(before[half:].any())
    assert title_on_top is (position is CaptionPosition.BOTTOM)
    during = bright(await frame_at(binaries, out, 2.5, WIDE))
    assert during[:half].any()
    assert during[half:].any()


def test_frames_helpers_see_colours() -> None:
    frame = np.zeros((2, 2, 3), dtype=np.uint8)
    frame[0, 1] = GREEN
    assert bounding_box(near(frame, GREEN)) == (1, 0, 1, 0)
    assert bounding_box(bright(np.zeros_like(frame))) is None
