from __future__ import annotations

import strawberry

from editai.clips.caption_inputs import CaptionsInput
from editai.clips.service import MAX_SUBTITLE_CHARS
from editai.clips.types import ClipAspect, ClipLayout, MultipleFaces, Reframe
from editai.media.voiceover_mix import DEFAULT_DUCKING_DB


@strawberry.input(description="How to cut raw clips out of the source video.")
class GenerateClipsInput:
    variant_count: int = strawberry.field(default=3, description="Distinct clips, 1 to 20.")
    clip_seconds: float = strawberry.field(
        default=30.0, description="Length of each clip; at most the source duration."
    )
    aspect: ClipAspect = strawberry.field(
        default=ClipAspect.SOURCE,
        description="Non-SOURCE crops: around the centre, or as reframe and layout say.",
    )
    accurate: bool = strawberry.field(
        default=False,
        description="Re-encode for frame-exact cuts; otherwise SOURCE clips stream-copy.",
    )
    reframe: Reframe = strawberry.field(
        default=Reframe.CENTER,
        description="FACE: the crop follows the speaker's face, shot by shot (needs an "
        "aspect other than SOURCE and layout CROP).",
    )
    layout: ClipLayout = strawberry.field(
        default=ClipLayout.CROP,
        description="FIT_BLUR: the whole frame over a blurred fill (needs an aspect other "
        "than SOURCE and reframe CENTER).",
    )
    multiple_faces: MultipleFaces = strawberry.field(
        default=MultipleFaces.FIT_BLUR,
        description="With reframe FACE, a shot where two or more faces show most of the "
        "time: FIT_BLUR for that shot, or follow the LARGEST_FACE.",
    )


@strawberry.input
class TimeRangeInput:
    start_seconds: float
    end_seconds: float


@strawberry.input(description="H.264/AAC MP4, loudness-normalized to -14 LUFS.")
class ExportClipsInput:
    height: int = strawberry.field(default=1080, description="Output height, even, 144..2160.")
    subtitle_text: str | None = strawberry.field(
        default=None,
        description=(
            f"Burned-in text, at most {MAX_SUBTITLE_CHARS} characters: at the bottom, or at the "
            "top as a title when voice-over subtitles take the bottom."
        ),
    )
    mute_ranges: list[TimeRangeInput] = strawberry.field(
        default_factory=list,
        description="Silence the clip's own audio between these clip times (not the voice-over).",
    )
    voiceover_id: strawberry.ID | None = strawberry.field(
        default=None,
        description=(
            "A voice-over of this profile to lay on every clip, mixed over the clip's audio "
            "(which is ducked under it) before loudness normalization. A voice longer than "
            "the rest of the clip is cut off at the clip's end."
        ),
    )
    voiceover_start_seconds: float = strawberry.field(
        default=0.0,
        description="Where in each clip the voice-over starts; 0 <= value < every clip's length.",
    )
    ducking_db: float = strawberry.field(
        default=DEFAULT_DUCKING_DB,
        description=(
            "How many dB the clip's own audio is lowered while the voice speaks, 0..40 "
            "(0: not at all). It returns to its level in the pauses and after the voice."
        ),
    )
    voiceover_subtitles: bool = strawberry.field(
        default=True,
        description=(
            "Burn in the voice-over's words at the bottom, a short phrase at a time, each "
            "shown while it is spoken (timings from the TTS provider where it gave them). "
            "Not used when captions.source is VOICEOVER: the captions show those words."
        ),
    )
    captions: CaptionsInput | None = strawberry.field(
        default=None,
        description=(
            "Word-by-word captions from the clip's transcript or the voice-over. Null (or "
            "source NONE): none, and the export is as without them."
        ),
    )


@strawberry.input(description="New edges for a clip, in seconds of the source video.")
class UpdateClipInput:
    start_seconds: float | None = strawberry.field(
        default=None, description="New start (null: keep the current one)."
    )
    end_seconds: float | None = strawberry.field(
        default=None,
        description="New end (null: keep the current one); after the start, within the source.",
    )
    snap_to_words: bool = strawberry.field(
        default=False,
        description=(
            "Move an edge that falls inside a spoken word out to that word's boundary (the "
            "start to the word's start, the end to its end), so no word is cut in half. "
            "Needs the project's transcript (transcribeVideo)."
        ),
    )
