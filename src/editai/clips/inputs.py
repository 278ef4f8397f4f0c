from __future__ import annotations

import strawberry

from editai.clips.types import ClipAspect


@strawberry.input(description="How to cut raw clips out of the source video.")
class GenerateClipsInput:
    variant_count: int = strawberry.field(default=3, description="Distinct clips, 1 to 20.")
    clip_seconds: float = strawberry.field(
        default=30.0, description="Length of each clip; at most the source duration."
    )
    aspect: ClipAspect = strawberry.field(
        default=ClipAspect.SOURCE, description="Non-SOURCE crops around the centre."
    )
    accurate: bool = strawberry.field(
        default=False,
        description="Re-encode for frame-exact cuts; otherwise SOURCE clips stream-copy.",
    )


@strawberry.input
class TimeRangeInput:
    start_seconds: float
    end_seconds: float


@strawberry.input(description="H.264/AAC MP4, loudness-normalized to -14 LUFS.")
class ExportClipsInput:
    height: int = strawberry.field(default=1080, description="Output height, even, 144..2160.")
    subtitle_text: str | None = strawberry.field(
        default=None, description="Burned-in text, at most 500 characters."
    )
    mute_ranges: list[TimeRangeInput] = strawberry.field(
        default_factory=list, description="Silence the audio between these clip times."
    )
