"""A small stand-in of the source to upload for analysis.

Gemini samples a video at about one frame a second and reads frames at a few hundred
pixels, so a 360p (short side), 2 fps, mono 32 kb/s copy says as much as the original at
a fraction of the upload. The timeline is kept (no trimming, no speed change): times in
the answer are times in the source.
"""

from __future__ import annotations

from pathlib import Path

import ffmpeg

from editai.media.binaries import Binaries
from editai.media.ffmpeg import ProgressCallback, run_ffmpeg

PROXY_SHORT_SIDE = 360
PROXY_FPS = 2


def _even(value: int) -> int:
    return max(2, value - value % 2)


def proxy_scale(width: int, height: int) -> tuple[int, int]:
    """``scale`` w/h (-2: keep the aspect, even): short side at most PROXY_SHORT_SIDE."""
    if width <= 0 or height <= 0:
        return -2, PROXY_SHORT_SIDE
    if width >= height:
        return -2, _even(min(PROXY_SHORT_SIDE, height))
    return _even(min(PROXY_SHORT_SIDE, width)), -2


def build_proxy_args(
    source: Path, out: Path, width: int, height: int, has_audio: bool
) -> list[str]:
    src = ffmpeg.input(str(source))
    w, h = proxy_scale(width, height)
    video = src["v:0"].filter("fps", PROXY_FPS).filter("scale", w, h).filter("setsar", "1")
    streams = [video, src["a:0"]] if has_audio else [video]
    audio_options = (
        {"acodec": "aac", "audio_bitrate": "32k", "ac": 1, "ar": 16000} if has_audio else {}
    )
    output = ffmpeg.output(
        *streams,
        str(out),
        vcodec="libx264",
        preset="veryfast",
        crf=32,
        pix_fmt="yuv420p",
        g=PROXY_FPS * 10,
        movflags="+faststart",
        **audio_options,
    )
    return list(output.get_args())


async def make_proxy(
    binaries: Binaries,
    source: Path,
    out: Path,
    *,
    width: int,
    height: int,
    has_audio: bool,
    duration: float,
    on_progress: ProgressCallback | None = None,
) -> Path:
    args = build_proxy_args(source, out, width, height, has_audio)
    await run_ffmpeg(binaries, args, duration_seconds=duration, on_progress=on_progress)
    return out
