"""Measuring caption text with Pillow on the very font file libass will draw with.

libass sizes a font so that its OS/2 winAscent + winDescent span the ASS font size (as
VSFilter does); the em is therefore ``size * unitsPerEm / (winAscent + winDescent)``.
Pillow takes an em size, so widths are measured at that em: a word measured here is as
wide as libass draws it (to within a pixel or two of shaping differences, which the
layout's slack absorbs). The tables are read directly (no fontTools dependency).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont


@dataclass(frozen=True, slots=True)
class FontFace:
    """What an ASS style needs to name the font, and how its em relates to the ASS size."""

    family: str
    bold: bool
    italic: bool
    em_per_size: float


def _tables(data: bytes) -> dict[bytes, tuple[int, int]]:
    count = struct.unpack_from(">H", data, 4)[0]
    tables = {}
    for index in range(count):
        tag, _checksum, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * index)
        tables[tag] = (offset, length)
    return tables


def em_per_size(data: bytes) -> float:
    """unitsPerEm / (winAscent + winDescent); 1.0 when the font lacks the tables."""
    try:
        tables = _tables(data)
        units = struct.unpack_from(">H", data, tables[b"head"][0] + 18)[0]
        win_ascent, win_descent = struct.unpack_from(">HH", data, tables[b"OS/2"][0] + 74)
    except (KeyError, struct.error):
        return 1.0
    height = win_ascent + win_descent
    return units / height if units > 0 and height > 0 else 1.0


@lru_cache(maxsize=8)
def font_face(font_file: Path) -> FontFace:
    data = font_file.read_bytes()
    family, style = ImageFont.truetype(str(font_file), 16).getname()
    style_name = (style or "").lower()
    return FontFace(
        family=family or font_file.stem,
        bold="bold" in style_name or "black" in style_name,
        italic="italic" in style_name or "oblique" in style_name,
        em_per_size=em_per_size(data),
    )


@dataclass
class TextMeasure:
    """Widths in pixels of text drawn at an ASS font size with ``font_file``."""

    font_file: Path
    face: FontFace = field(init=False)
    _fonts: dict[float, ImageFont.FreeTypeFont] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.face = font_face(self.font_file)

    def width(self, text: str, size: float) -> float:
        em = round(size * self.face.em_per_size, 2)
        font = self._fonts.get(em)
        if font is None:
            font = self._fonts[em] = ImageFont.truetype(str(self.font_file), em)
        return float(font.getlength(text))
