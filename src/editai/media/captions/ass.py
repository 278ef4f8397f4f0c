"""The ASS subtitle file libass burns in: one style per font size, one event per state.

* ``[Script Info]``: PlayResX/PlayResY are the output frame, so every size and margin is
  in output pixels; ``WrapStyle: 2`` (libass never wraps: lines are ours, see layout.py);
  ``YCbCr Matrix: None`` (colours are drawn as given, no TV-range conversion).
* Events are explicit, no karaoke tags, so a frame's look depends only on its time. For
  each word of a caption, one event from that word's start to the next word's start
  (the last one to the caption's end); times are rounded to centiseconds once, so one
  event ends exactly where the next begins and libass never stacks two (it moves
  overlapping events apart).
  - WORD: the whole caption, the current word in the highlight colour (``\\1c``).
  - REVEAL: the words spoken so far, the current one highlighted; the rest are drawn
    fully transparent (``\\alpha&HFF&``) so they keep their place and nothing jumps.
* Text is escaped: ``{`` and ``}`` as ``\\{`` ``\\}``, and a backslash is followed by a
  WORD JOINER (U+2060, invisible) so it never forms ``\\N``, ``\\h`` or an escape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from editai.media.captions.layout import Caption, Frame
from editai.media.captions.measure import FontFace
from editai.media.captions.style import (
    SIDE_MARGIN_SHARE,
    CaptionPosition,
    CaptionStyle,
    HighlightMode,
    ass_color,
)

ALIGNMENT = {CaptionPosition.BOTTOM: 2, CaptionPosition.CENTER: 5, CaptionPosition.TOP: 8}
WORD_JOINER = "\u2060"
STYLE_FIELDS = (
    "Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
    "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, "
    "Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding"
)
EVENT_FIELDS = "Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text"


def escape_text(text: str) -> str:
    """Text shown literally by libass (see the module docstring)."""
    flat = " ".join(text.replace("\r", " ").replace("\n", " ").split())
    return flat.replace("\\", "\\" + WORD_JOINER).replace("{", "\\{").replace("}", "\\}")


def ass_time(centiseconds: int) -> str:
    hours, rest = divmod(centiseconds, 360_000)
    minutes, rest = divmod(rest, 6_000)
    seconds, cs = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{cs:02d}"


def _centiseconds(seconds: float) -> int:
    return max(0, round(seconds * 100))


def _inline_color(color: str) -> str:
    return ass_color(color)[4:]  # &HBBGGRR, as an override tag takes it (no alpha)


def caption_text(caption: Caption, current: int, style: CaptionStyle) -> str:
    """The event text while word ``current`` (index in the caption) is spoken."""
    highlight = f"{{\\1c&H{_inline_color(style.highlight_color)}&}}"
    normal = f"{{\\1c&H{_inline_color(style.text_color)}&}}"
    reveal = style.highlight_mode is HighlightMode.REVEAL
    parts: list[str] = []
    index = 0
    for line_number, line in enumerate(caption.line_words()):
        if line_number:
            parts.append("\\N")
        for position, word in enumerate(line):
            if position:
                parts.append(" ")
            if reveal and index == current + 1:
                parts.append("{\\alpha&HFF&}")
            text = escape_text(word.text)
            parts.append(f"{highlight}{text}{normal}" if index == current else text)
            index += 1
    return "".join(parts)


def _style_name(size: int) -> str:
    return f"Caption{size}"


def _style_line(size: int, style: CaptionStyle, frame: Frame, face: FontFace) -> str:
    side = math.ceil(frame.width * SIDE_MARGIN_SHARE)
    margin = round(frame.height * style.margin_percent / 100)
    values = (
        _style_name(size),
        face.family,
        str(size),
        ass_color(style.text_color),
        ass_color(style.text_color),
        ass_color(style.outline_color),
        ass_color("#000000", alpha=0xFF),
        "-1" if face.bold else "0",
        "-1" if face.italic else "0",
        "0",
        "0",
        "100",
        "100",
        "0",
        "0",
        "1",
        f"{style.outline_width:g}",
        "0",
        str(ALIGNMENT[style.position]),
        str(side),
        str(side),
        str(margin),
        "1",
    )
    return "Style: " + ",".join(values)


def caption_events(captions: Sequence[Caption], style: CaptionStyle) -> list[str]:
    lines = []
    for caption in captions:
        starts = [_centiseconds(max(w.start, caption.start)) for w in caption.words]
        ends = [*starts[1:], _centiseconds(caption.end)]
        for current, (begin, end) in enumerate(zip(starts, ends, strict=True)):
            if end <= begin:
                continue  # shorter than a centisecond: the next word takes over at once
            text = caption_text(caption, current, style)
            lines.append(
                f"Dialogue: 0,{ass_time(begin)},{ass_time(end)},"
                f"{_style_name(caption.font_size)},,0,0,0,,{text}"
            )
    return lines


def ass_document(
    captions: Sequence[Caption], style: CaptionStyle, frame: Frame, face: FontFace
) -> str:
    sizes = sorted({c.font_size for c in captions})
    return "\n".join(
        [
            "[Script Info]",
            "ScriptType: v4.00+",
            f"PlayResX: {frame.width}",
            f"PlayResY: {frame.height}",
            "WrapStyle: 2",
            "ScaledBorderAndShadow: yes",
            "YCbCr Matrix: None",
            "",
            "[V4+ Styles]",
            f"Format: {STYLE_FIELDS}",
            *(_style_line(size, style, frame, face) for size in sizes),
            "",
            "[Events]",
            f"Format: {EVENT_FIELDS}",
            *caption_events(captions, style),
            "",
        ]
    )
