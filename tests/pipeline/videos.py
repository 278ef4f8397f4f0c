"""The pipeline's source videos: scene changes and silent stretches at known times.

Built like ``tests.media.videos`` (lavfi sources through ffmpeg-python, x264 + AAC), at
30 fps with a keyframe every second, so the ground truth is exact: ``Spec`` lists where
the picture changes and where the audio is silent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ffmpeg

from editai.media.binaries import Binaries
from editai.media.ffmpeg import run_ffmpeg
from tests.media.videos import Spec

FPS = 30
RATE = 48_000

# 16 s, 640x360: red 0-4 s, testsrc2 4-8 s, SMPTE bars 8-12 s, blue 12-16 s. Audio: a
# 440 Hz tone, silent 3-6 s and 10-12.5 s.
PIPELINE = Spec(
    "pipeline",
    640,
    360,
    16.0,
    scene_changes=(4.0, 8.0, 12.0),
    silences=((3.0, 6.0), (10.0, 12.5)),
)
# Loud everywhere: the speech spans of PIPELINE.
SOUNDS = ((0.0, 3.0), (6.0, 10.0), (12.5, 16.0))


def _lavfi(graph: str) -> Any:
    return ffmpeg.input(graph, f="lavfi")


def _picture(source: str, spec: Spec, seconds: float) -> Any:
    size = f"{spec.width}x{spec.height}"
    if source in ("red", "blue"):
        return _lavfi(f"color=c={source}:size={size}:rate={FPS}:duration={seconds}")
    return _lavfi(f"{source}=size={size}:rate={FPS}:duration={seconds}")


def silence_expression(silences: tuple[tuple[float, float], ...]) -> str:
    """``volume`` expression: 0 inside the silences, 1 elsewhere."""
    quiet = "+".join(f"between(t,{a},{b})" for a, b in silences)
    return f"if({quiet},0,1)"


async def make_pipeline_video(
    binaries: Binaries, folder: Path, spec: Spec = PIPELINE, *, preset: str = "veryfast"
) -> Path:
    """``spec`` with four equal scenes (red, testsrc2, SMPTE bars, blue) and its silences."""
    out = folder / f"{spec.name}.mp4"
    quarter = spec.duration / 4
    video = ffmpeg.concat(
        *(_picture(s, spec, quarter) for s in ("red", "testsrc2", "smptebars", "blue"))
    )
    audio = _lavfi(f"sine=frequency=440:sample_rate={RATE}:duration={spec.duration}").filter(
        "volume", volume=silence_expression(spec.silences), eval="frame"
    )
    args = ffmpeg.output(
        video,
        audio,
        str(out),
        vcodec="libx264",
        preset=preset,
        pix_fmt="yuv420p",
        g=FPS,
        keyint_min=FPS,
        sc_threshold=0,
        acodec="aac",
        audio_bitrate="128k",
        ac=1,
    ).get_args()
    await run_ffmpeg(binaries, args)
    return out
