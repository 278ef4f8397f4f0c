"""Captions without rendering: style checks, grouping, measured wrapping, the ASS text.

Layout tests measure with a fixed-pitch stand-in (10 px per character at size 20,
proportional to the size) so the expected lines can be worked out by hand; the real
measurement (Pillow on the font libass uses) is checked against libass's own rendering
in test_captions_render.py.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from editai.media.captions.ass import (
    WORD_JOINER,
    ass_document,
    ass_time,
    caption_events,
    escape_text,
)
from editai.media.captions.burn import CaptionRequest, write_captions
from editai.media.captions.layout import (
    Caption,
    CaptionWord,
    Frame,
    layout_captions,
    safe_width,
)
from editai.media.captions.measure import TextMeasure, font_face
from editai.media.captions.style import (
    CaptionPosition,
    CaptionStyle,
    CaptionStyleError,
    HighlightMode,
    ass_color,
    validate_style,
)
from editai.media.fonts import find_font_file
from editai.media.voiceover_mix import TimedWord


def pitch(text: str, size: float) -> float:
    return len(text) * size / 2


def timed(text: str, start: float = 0.0, step: float = 0.3) -> list[TimedWord]:
    """Words spoken back to back, ``step`` seconds each."""
    return [
        TimedWord(word, start + i * step, start + (i + 1) * step - 0.05)
        for i, word in enumerate(text.split())
    ]


WIDE = Frame(1280, 720)


def texts(caption: Caption) -> list[str]:
    return [" ".join(w.text for w in line) for line in caption.line_words()]


# --- style -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"font_size": 7}, "fontSize"),
        ({"font_size": 401}, "fontSize"),
        ({"text_color": "white"}, "textColor"),
        ({"highlight_color": "#12345"}, "highlightColor"),
        ({"outline_color": "#GGGGGG"}, "outlineColor"),
        ({"outline_width": -1.0}, "outlineWidth"),
        ({"outline_width": math.nan}, "outlineWidth"),
        ({"margin_percent": 41.0}, "marginPercent"),
        ({"max_words_per_line": 0}, "maxWordsPerLine"),
        ({"max_lines": 5}, "maxLines"),
    ],
)
def test_style_fields_out_of_range_are_named(changes: dict[str, object], field: str) -> None:
    with pytest.raises(CaptionStyleError) as caught:
        validate_style(CaptionStyle(**changes))  # type: ignore[arg-type]
    assert caught.value.field == field
    assert field in str(caught.value)


def test_font_size_is_limited_by_the_output_height() -> None:
    validate_style(CaptionStyle(font_size=90), height=360)
    with pytest.raises(CaptionStyleError, match="between 8 and 90"):
        validate_style(CaptionStyle(font_size=91), height=360)


def test_style_survives_the_job_payload() -> None:
    style = CaptionStyle(
        font_size=40,
        highlight_color="#00ff00",
        position=CaptionPosition.TOP,
        uppercase=True,
        highlight_mode=HighlightMode.REVEAL,
    )
    assert CaptionStyle.from_json(style.to_json()) == style


def test_colors_are_written_blue_green_red() -> None:
    assert ass_color("#12AB34") == "&H0034AB12"
    assert ass_color("#ffffff", alpha=0xFF) == "&HFFFFFFFF"


# --- ASS text ----------------------------------------------------------------------------


def test_text_is_escaped_for_libass() -> None:
    assert escape_text("a{b}c") == "a\\{b\\}c"
    assert escape_text("x\\N y\\h") == f"x\\{WORD_JOINER}N y\\{WORD_JOINER}h"
    assert escape_text("two\nlines\r\nhere") == "two lines here"
    assert escape_text("{\\b1}") == f"\\{{\\{WORD_JOINER}b1\\}}"


def test_times_are_centiseconds() -> None:
    assert ass_time(0) == "0:00:00.00"
    assert ass_time(366_123) == "1:01:01.23"


# --- grouping and wrapping ---------------------------------------------------------------


def test_captions_hold_words_per_line_times_lines() -> None:
    style = CaptionStyle(font_size=20, max_words_per_line=2, max_lines=2)
    captions = layout_captions(timed("a b c d e f g h i j"), style, WIDE, pitch, 10.0)
    assert [texts(c) for c in captions] == [["a b", "c d"], ["e f", "g h"], ["i j"]]


def test_sentence_ends_and_pauses_start_a_new_caption() -> None:
    words = [
        *timed("Hello world."),
        *timed("Next one", start=0.6),
        *timed("after pause", start=2.0),
    ]
    captions = layout_captions(words, CaptionStyle(font_size=20), WIDE, pitch, 10.0)
    assert [texts(c) for c in captions] == [["Hello world."], ["Next one"], ["after pause"]]


def test_lines_wrap_by_measured_width() -> None:
    frame = Frame(400, 720)  # safe width 400 - 2*28 - 8 - 4 = 332 px: 33 characters at 20
    style = CaptionStyle(font_size=20, max_words_per_line=10, max_lines=4)
    words = timed("aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee")
    (caption,) = layout_captions(words, style, frame, pitch, 10.0)
    assert texts(caption) == [
        "aaaaaaaaaa bbbbbbbbbb cccccccccc",
        "dddddddddd eeeeeeeeee",
    ]
    assert all(pitch(line, 20) <= safe_width(style, frame) for line in texts(caption))


def test_a_word_too_wide_alone_gets_its_own_smaller_caption() -> None:
    frame = Frame(200, 720)
    style = CaptionStyle(font_size=40)
    limit = safe_width(style, frame)
    words = timed("go Pneumonoultramicroscopic now")
    captions = layout_captions(words, style, frame, pitch, 10.0)
    assert [texts(c) for c in captions] == [["go"], ["Pneumonoultramicroscopic"], ["now"]]
    assert captions[0].font_size == captions[2].font_size == 40
    shrunk = captions[1].font_size
    assert shrunk < 40
    assert (
        pitch("Pneumonoultramicroscopic", shrunk)
        <= limit
        < pitch("Pneumonoultramicroscopic", shrunk + 1)
    )


def test_too_many_lines_for_a_short_frame_are_cut_to_what_fits() -> None:
    # 100 px high, margins 10 % + 3 %: 87 px of room; a line is 30 + 2 x 4 (outline) = 38 px.
    frame = Frame(1280, 100)
    style = CaptionStyle(font_size=30, max_words_per_line=1, max_lines=4)
    (first, *_) = layout_captions(timed("a b c d"), style, frame, pitch, 10.0)
    assert len(first.lines) == 2


def test_uppercase_is_applied() -> None:
    style = CaptionStyle(font_size=20, uppercase=True)
    (caption,) = layout_captions(timed("say ß and é"), style, WIDE, pitch, 10.0)
    assert texts(caption) == ["SAY SS AND É"]


def test_caption_times_never_overlap_and_stay_in_the_clip() -> None:
    words = [*timed("one two three four five six", step=0.4), *timed("late words", start=3.5)]
    words.append(TimedWord("gone", 9.0, 9.5))
    style = CaptionStyle(font_size=20, max_words_per_line=2, max_lines=1)
    captions = layout_captions(words, style, WIDE, pitch, 4.0)
    assert "gone" not in {w.text for c in captions for w in c.words}
    for before, after in itertools.pairwise(captions):
        assert before.start < before.end <= after.start
    assert captions[-1].end <= 4.0
    # A short gap is bridged (no flicker), a long pause is not.
    assert captions[0].end == captions[1].start
    assert captions[2].end < captions[3].start


# --- events ------------------------------------------------------------------------------


def one_caption(words: str, style: CaptionStyle) -> Caption:
    items = tuple(CaptionWord(w, 1.0 + i, 1.5 + i) for i, w in enumerate(words.split()))
    return Caption(items, (len(items),), 40, 1.0, 1.0 + len(items))


def test_word_mode_highlights_each_word_in_turn() -> None:
    style = CaptionStyle(text_color="#FFFFFF", highlight_color="#00FF00")
    events = caption_events([one_caption("one two three", style)], style)
    green, white = "{\\1c&H00FF00&}", "{\\1c&HFFFFFF&}"
    assert events == [
        f"Dialogue: 0,0:00:01.00,0:00:02.00,Caption40,,0,0,0,,{green}one{white} two three",
        f"Dialogue: 0,0:00:02.00,0:00:03.00,Caption40,,0,0,0,,one {green}two{white} three",
        f"Dialogue: 0,0:00:03.00,0:00:04.00,Caption40,,0,0,0,,one two {green}three{white}",
    ]


def test_reveal_mode_hides_the_words_not_yet_spoken() -> None:
    style = CaptionStyle(highlight_color="#FF0000", highlight_mode=HighlightMode.REVEAL)
    events = caption_events([one_caption("one two three", style)], style)
    texts_ = [event.split(",,", 2)[-1].split(",,")[-1] for event in events]
    hide = "{\\alpha&HFF&}"
    assert texts_[0].index(hide) < texts_[0].index("two")
    assert texts_[1].index(hide) < texts_[1].index("three")
    assert hide not in texts_[2]


def test_words_shorter_than_a_centisecond_get_no_event() -> None:
    style = CaptionStyle()
    words = (CaptionWord("a", 1.0, 1.001), CaptionWord("b", 1.003, 2.0))
    events = caption_events([Caption(words, (2,), 40, 1.0, 2.0)], style)
    assert len(events) == 1


def test_document_uses_the_frame_and_one_style_per_size() -> None:
    font = find_font_file()
    assert font is not None
    face = font_face(font)
    style = CaptionStyle(position=CaptionPosition.TOP, margin_percent=5.0)
    captions = [one_caption("a b", style), Caption((CaptionWord("c", 3, 4),), (1,), 30, 3, 4)]
    text = ass_document(captions, style, Frame(1080, 1920), face)
    assert "PlayResX: 1080\nPlayResY: 1920" in text
    styles = [line for line in text.splitlines() if line.startswith("Style: ")]
    assert [s.split(",")[0] for s in styles] == ["Style: Caption30", "Style: Caption40"]
    # Roboto Bold by family name and weight; top-centre; 7 % of 1080 each side; 5 % of 1920.
    assert styles[0].split(",")[1:3] == ["Roboto", "30"]
    assert styles[0].split(",")[-5:] == ["8", "76", "76", "96", "1"]


def test_roboto_is_measured_at_the_em_libass_uses() -> None:
    font = find_font_file()
    assert font is not None
    face = font_face(font)
    assert (face.family, face.bold, face.italic) == ("Roboto", True, False)
    # Roboto: 2048 units per em, winAscent 2146 + winDescent 555.
    assert face.em_per_size == pytest.approx(2048 / 2701)
    measure = TextMeasure(font)
    assert measure.width("HHHH", 60) < measure.width("HHHHH", 60)
    assert measure.width("HHHH", 60) == pytest.approx(2 * measure.width("HHHH", 30), rel=0.03)


def test_write_captions_skips_a_clip_without_words(tmp_path: Path) -> None:
    font = find_font_file()
    assert font is not None
    request = CaptionRequest([TimedWord("late", 5.0, 6.0)], CaptionStyle())
    assert write_captions(request, WIDE, font, 4.0, tmp_path) is None
    assert list(tmp_path.iterdir()) == []
    written = write_captions(
        CaptionRequest(timed("hi there"), CaptionStyle()), WIDE, font, 4.0, tmp_path
    )
    assert written is not None
    assert written.read_text(encoding="utf-8").count("Dialogue:") == 2
