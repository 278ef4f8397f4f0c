"""GraphQL input of word-by-word captions on an export (``ExportClipsInput.captions``)."""

from __future__ import annotations

import strawberry

from editai.clips.captions import CaptionSource as CaptionSourceValue
from editai.clips.captions import CaptionsRequest
from editai.media.captions.style import (
    AUTO_FONT_SHARE,
    MAX_FONT_SIZE,
    MAX_LINES,
    MAX_MARGIN_PERCENT,
    MAX_OUTLINE,
    MAX_WORDS_PER_LINE,
    MIN_FONT_SIZE,
    CaptionStyle,
)
from editai.media.captions.style import CaptionPosition as CaptionPositionValue
from editai.media.captions.style import HighlightMode as HighlightModeValue

strawberry.enum(
    CaptionSourceValue,
    name="CaptionSource",
    description=(
        "TRANSCRIPT: the clip's own speech (needs transcribeVideo first). VOICEOVER: the "
        "voice-over's word timings (needs voiceoverId; replaces voiceoverSubtitles). "
        "NONE: no captions."
    ),
)
CaptionSource = CaptionSourceValue
strawberry.enum(CaptionPositionValue, name="CaptionPosition")
CaptionPosition = CaptionPositionValue
strawberry.enum(
    HighlightModeValue,
    name="CaptionHighlightMode",
    description=(
        "WORD: the whole caption shows, the word being spoken in highlightColor. REVEAL: "
        "words appear as they are spoken (the newest in highlightColor); the caption's "
        "layout is fixed from the start, so nothing moves."
    ),
)
HighlightMode = HighlightModeValue

_DEFAULT = CaptionStyle()


@strawberry.input(description="How captions look. Sizes are pixels of the output frame.")
class CaptionStyleInput:
    font_size: int | None = strawberry.field(
        default=None,
        description=(
            f"Line height in pixels of the output frame (the ASS font size: a capital is "
            f"about half of it), {MIN_FONT_SIZE}..{MAX_FONT_SIZE} and at most a quarter of "
            f"the height. Null: {AUTO_FONT_SHARE:.1%} of the frame's shorter side. A word "
            "too wide for the frame is drawn smaller."
        ),
    )
    text_color: str = strawberry.field(default=_DEFAULT.text_color, description="#RRGGBB.")
    highlight_color: str = strawberry.field(
        default=_DEFAULT.highlight_color, description="#RRGGBB, the word being spoken."
    )
    outline_color: str = strawberry.field(default=_DEFAULT.outline_color, description="#RRGGBB.")
    outline_width: float = strawberry.field(
        default=_DEFAULT.outline_width, description=f"Pixels, 0..{MAX_OUTLINE:g} (0: none)."
    )
    position: CaptionPosition = strawberry.field(default=_DEFAULT.position)
    margin_percent: float = strawberry.field(
        default=_DEFAULT.margin_percent,
        description=(
            f"Distance from the bottom (BOTTOM) or top (TOP) edge in % of the frame height, "
            f"0..{MAX_MARGIN_PERCENT:g}; unused for CENTER. Left and right, 7 % of the width "
            "always stays free."
        ),
    )
    max_words_per_line: int = strawberry.field(
        default=_DEFAULT.max_words_per_line,
        description=f"1..{MAX_WORDS_PER_LINE}; fewer when the words are too wide for a line.",
    )
    max_lines: int = strawberry.field(
        default=_DEFAULT.max_lines, description=f"Lines per caption, 1..{MAX_LINES}."
    )
    uppercase: bool = strawberry.field(default=_DEFAULT.uppercase)
    highlight_mode: HighlightMode = strawberry.field(default=_DEFAULT.highlight_mode)

    def to_style(self) -> CaptionStyle:
        return CaptionStyle(
            font_size=self.font_size,
            text_color=self.text_color,
            highlight_color=self.highlight_color,
            outline_color=self.outline_color,
            outline_width=self.outline_width,
            position=self.position,
            margin_percent=self.margin_percent,
            max_words_per_line=self.max_words_per_line,
            max_lines=self.max_lines,
            uppercase=self.uppercase,
            highlight_mode=self.highlight_mode,
        )


@strawberry.input(
    description=(
        "Word-by-word captions burned in with libass. A caption groups up to "
        "maxWordsPerLine x maxLines words and ends at a sentence end or a pause; lines are "
        "wrapped by measured width, so they fit any aspect ratio. subtitleText, if given, "
        "moves to the other end of the frame (top, or bottom when the captions are at the top)."
    )
)
class CaptionsInput:
    source: CaptionSource
    style: CaptionStyleInput | None = strawberry.field(
        default=None, description="Null: every field's default."
    )

    def to_request(self) -> CaptionsRequest:
        style = (self.style or CaptionStyleInput()).to_style()
        return CaptionsRequest(CaptionSource(self.source), style)
