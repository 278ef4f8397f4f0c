"""Text burned into an export with ``drawtext``: a title and the voice-over's phrases.

``subtitle_text`` is drawn at the bottom centre, one filter per line (wrapped to the
frame width, at most :data:`MAX_SUBTITLE_LINES` lines), white with a black border on a
translucent box. With voice-over subtitles, the voice's words go at the bottom instead,
in short phrases (:func:`~editai.media.voiceover_mix.group_phrases`), each ``drawtext``
enabled only while its phrase is spoken (``enable='between(t,start,end)'``, times we
format as numbers), and ``subtitle_text`` moves to the top as a static title. All text
goes through files (``textfile=``, ``expansion=none``), never through the filter graph,
so quotes, colons, backslashes, ``%`` and ``%{...}`` are drawn literally and cannot
inject filter options.
"""

from __future__ import annotations

import textwrap
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_SUBTITLE_CHARS = 500

MAX_SUBTITLE_LINES = 3


@dataclass(frozen=True, slots=True)
class TextLine:
    """One ``drawtext``: a file holding the line, its top y, and when it shows
    (``None``: always; else (start, end) seconds of the clip)."""

    path: Path
    y: int
    shown: tuple[float, float] | None = None


def clean_subtitle_text(text: str | None) -> str | None:
    """Text without control characters (newlines kept as breaks); None when empty."""
    if text is None:
        return None
    lines = [
        " ".join("".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in line).split())
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    cleaned = "\n".join(line for line in lines if line)
    if not cleaned:
        return None
    if len(cleaned) > MAX_SUBTITLE_CHARS:
        raise ValueError(f"subtitle text is longer than {MAX_SUBTITLE_CHARS} characters")
    return cleaned


def subtitle_font_size(height: int) -> int:
    return max(12, round(height * 0.06))


def chars_per_line(width: int, font_size: int) -> int:
    """Characters that fit ``width`` pixels (average glyph taken as 0.65 em)."""
    return max(8, int(width * 0.9 / (font_size * 0.65)))


def wrap_subtitle(text: str, width: int, font_size: int) -> list[str]:
    """Lines that fit ``width`` pixels; at most MAX_SUBTITLE_LINES, the last one cut with
    an ellipsis."""
    per_line = chars_per_line(width, font_size)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines += textwrap.wrap(paragraph, per_line, break_long_words=True) or [""]
    if len(lines) > MAX_SUBTITLE_LINES:
        lines = lines[:MAX_SUBTITLE_LINES]
        last = lines[-1]
        lines[-1] = (last[: per_line - 1] if len(last) >= per_line else last) + "…"
    return lines


def write_texts(folder: Path, texts: Sequence[str]) -> list[Path]:
    paths = []
    for text in texts:
        path = folder / f"subtitle-{uuid.uuid4().hex}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def rows_at_bottom(count: int, height: int, font_size: int) -> list[int]:
    line_height = round(font_size * 1.5)
    bottom = height - round(height * 0.06)
    pad = (line_height - font_size) // 2
    return [bottom - (count - i) * line_height + pad for i in range(count)]


def rows_at_top(count: int, height: int, font_size: int) -> list[int]:
    line_height = round(font_size * 1.5)
    top = round(height * 0.06)
    pad = (line_height - font_size) // 2
    return [top + i * line_height + pad for i in range(count)]


def draw_text_lines(
    video: Any, lines: Sequence[TextLine], font_file: Path | None, font_size: int
) -> Any:
    """``video`` with one ``drawtext`` per line (see the module docstring)."""
    for line in lines:
        timing: dict[str, str] = {}
        if line.shown is not None:
            timing["enable"] = f"between(t,{line.shown[0]:.3f},{line.shown[1]:.3f})"
        video = video.filter(
            "drawtext",
            fontfile=str(font_file),
            textfile=str(line.path),
            expansion="none",
            fontsize=font_size,
            fontcolor="white",
            borderw=max(1, font_size // 12),
            bordercolor="black",
            box=1,
            boxcolor="black@0.45",
            boxborderw=max(2, font_size // 5),
            x="(w-text_w)/2",
            y=line.y,
            **timing,
        )
    return video
