"""How captions look, and the limits every field is checked against (before any job).

Sizes are pixels of the output frame (the export's ``height`` and the width its aspect
gives). ``font_size`` is the ASS font size, i.e. the height of a line of text (libass
sizes a font by its ascent + descent), not the em: with Roboto a capital letter is
about half of it. ``None`` picks :data:`AUTO_FONT_SHARE` of the frame's shorter side.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MIN_FONT_SIZE, MAX_FONT_SIZE = 8, 400
MAX_OUTLINE = 20.0
MAX_MARGIN_PERCENT = 40.0
MAX_WORDS_PER_LINE = 12
MAX_LINES = 4
AUTO_FONT_SHARE = 0.075
# Left and right of every caption, a share of the frame's width kept free.
SIDE_MARGIN_SHARE = 0.07
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")


class CaptionPosition(enum.Enum):
    BOTTOM = "BOTTOM"
    CENTER = "CENTER"
    TOP = "TOP"


class HighlightMode(enum.Enum):
    WORD = "WORD"
    REVEAL = "REVEAL"


class CaptionStyleError(ValueError):
    """A style field outside its range: ``field`` names it as the API spells it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class CaptionStyle:
    font_size: int | None = None
    text_color: str = "#FFFFFF"
    highlight_color: str = "#FFD400"
    outline_color: str = "#000000"
    outline_width: float = 4.0
    position: CaptionPosition = CaptionPosition.BOTTOM
    margin_percent: float = 10.0
    max_words_per_line: int = 4
    max_lines: int = 2
    uppercase: bool = False
    highlight_mode: HighlightMode = HighlightMode.WORD

    def size_for(self, width: int, height: int) -> int:
        """The font size for a frame: the given one, or the automatic one."""
        if self.font_size is not None:
            return self.font_size
        return max(MIN_FONT_SIZE, round(AUTO_FONT_SHARE * min(width, height)))

    def to_json(self) -> dict[str, Any]:
        return {
            "font_size": self.font_size,
            "text_color": self.text_color,
            "highlight_color": self.highlight_color,
            "outline_color": self.outline_color,
            "outline_width": self.outline_width,
            "position": self.position.value,
            "margin_percent": self.margin_percent,
            "max_words_per_line": self.max_words_per_line,
            "max_lines": self.max_lines,
            "uppercase": self.uppercase,
            "highlight_mode": self.highlight_mode.value,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> CaptionStyle:
        """The style a job payload holds (written by :meth:`to_json`), checked again."""
        size = raw.get("font_size")
        style = cls(
            font_size=None if size is None else int(size),
            text_color=str(raw["text_color"]),
            highlight_color=str(raw["highlight_color"]),
            outline_color=str(raw["outline_color"]),
            outline_width=float(raw["outline_width"]),
            position=CaptionPosition(raw["position"]),
            margin_percent=float(raw["margin_percent"]),
            max_words_per_line=int(raw["max_words_per_line"]),
            max_lines=int(raw["max_lines"]),
            uppercase=bool(raw["uppercase"]),
            highlight_mode=HighlightMode(raw["highlight_mode"]),
        )
        validate_style(style)
        return style


def _number_in(field: str, value: float, low: float, high: float, unit: str = "") -> None:
    if not (math.isfinite(value) and low <= value <= high):
        raise CaptionStyleError(field, f"{field} must be between {low:g} and {high:g}{unit}")


def validate_style(style: CaptionStyle, height: int | None = None) -> None:
    """Raise :class:`CaptionStyleError` for the first field out of range. With the output
    ``height``, the font size must also leave room for a line (at most a quarter of it)."""
    if style.font_size is not None:
        high = MAX_FONT_SIZE if height is None else min(MAX_FONT_SIZE, height // 4)
        _number_in("fontSize", style.font_size, MIN_FONT_SIZE, high, " pixels")
    for field, color in (
        ("textColor", style.text_color),
        ("highlightColor", style.highlight_color),
        ("outlineColor", style.outline_color),
    ):
        if not _COLOR.fullmatch(color):
            raise CaptionStyleError(field, f"{field} must be a colour written #RRGGBB")
    _number_in("outlineWidth", style.outline_width, 0, MAX_OUTLINE, " pixels")
    _number_in("marginPercent", style.margin_percent, 0, MAX_MARGIN_PERCENT, " %")
    _number_in("maxWordsPerLine", style.max_words_per_line, 1, MAX_WORDS_PER_LINE)
    _number_in("maxLines", style.max_lines, 1, MAX_LINES)


def ass_color(color: str, alpha: int = 0) -> str:
    """``#RRGGBB`` as ASS writes it: ``&HAABBGGRR`` (alpha 0 is opaque)."""
    red, green, blue = color[1:3], color[3:5], color[5:7]
    return f"&H{alpha:02X}{blue}{green}{red}".upper()
