"""Cutting raw clips out of a source video, optionally cropped to another aspect ratio.

Modes:

* fast (``aspect == "SOURCE"`` and not ``accurate``): stream copy, ``-ss`` before
  ``-i``, ``-c copy -avoid_negative_ts make_zero``. Nothing is decoded, so the clip
  starts at the keyframe at or before ``start`` and may run a little long; frame size,
  codecs and quality are the source's.
* re-encode (``accurate``, or any other aspect): libx264 (``preset``, CRF ``crf``,
  yuv420p, keyframe every 2 s) + AAC 128 kb/s, ``-ss`` before ``-i`` (FFmpeg decodes
  and drops frames up to ``start``, so the first frame is the one at ``start``) and
  ``-t seconds`` on the output: the clip lasts ``seconds`` to within one frame.

Aspect rule (:func:`output_size`): the largest centred crop of the target ratio that
fits the source, both sides rounded down to even numbers (H.264 4:2:0 needs even sizes);
no scaling. ``SOURCE`` keeps the source size (rounded down to even when re-encoding).
640x360 gives 202x360 for R9_16, 360x360 for R1_1, 640x360 for R16_9; 1080x1920 gives
1080x606 for R16_9. Pixels are assumed square (the output is tagged SAR 1:1).
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import ffmpeg

from editai.media.binaries import Binaries
from editai.media.ffmpeg import ProgressCallback, run_ffmpeg

ASPECT_RATIOS: dict[str, tuple[int, int] | None] = {
    "SOURCE": None,
    "R9_16": (9, 16),
    "R1_1": (1, 1),
    "R16_9": (16, 9),
}
DEFAULT_PRESET = "veryfast"
DEFAULT_CRF = 20


def _even_floor(value: int) -> int:
    return value - value % 2


def _ratio(aspect: str) -> tuple[int, int] | None:
    try:
        return ASPECT_RATIOS[str(aspect)]
    except KeyError:
        raise ValueError(
            f"unknown aspect {aspect!r}; expected one of {', '.join(ASPECT_RATIOS)}"
        ) from None


def output_size(src_w: int, src_h: int, aspect: str) -> tuple[int, int]:
    """Frame size (width, height) of a clip re-encoded with ``aspect`` (rule above)."""
    if src_w < 2 or src_h < 2:
        raise ValueError(f"source frame size {src_w}x{src_h} is too small")
    ratio = _ratio(aspect)
    if ratio is None:
        return _even_floor(src_w), _even_floor(src_h)
    rw, rh = ratio
    if src_w * rh >= src_h * rw:  # source is wider than the target: full height
        width, height = src_h * rw // rh, src_h
    else:  # source is taller: full width
        width, height = src_w, src_w * rh // rw
    return max(2, _even_floor(width)), max(2, _even_floor(height))


def crop_box(src_w: int, src_h: int, aspect: str) -> tuple[int, int, int, int]:
    """``(width, height, x, y)`` of the centred crop for ``aspect``."""
    width, height = output_size(src_w, src_h, aspect)
    return width, height, (src_w - width) // 2, (src_h - height) // 2


def needs_reencode(aspect: str, accurate: bool) -> bool:
    return accurate or _ratio(aspect) is not None


def build_cut_args(
    source: Path,
    out: Path,
    start: float,
    seconds: float,
    aspect: str,
    accurate: bool,
    src_width: int,
    src_height: int,
    fps: float,
    *,
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
) -> list[str]:
    src = ffmpeg.input(str(source), ss=f"{start:.6f}")
    audio = src["a:0?"]
    if not needs_reencode(aspect, accurate):
        output = ffmpeg.output(
            src["v:0"],
            audio,
            str(out),
            t=f"{seconds:.6f}",
            c="copy",
            avoid_negative_ts="make_zero",
            movflags="+faststart",
        )
        return list(output.get_args())
    width, height, x, y = crop_box(src_width, src_height, aspect)
    video = src["v:0"]
    if (width, height) != (src_width, src_height):
        video = video.filter("crop", w=width, h=height, x=x, y=y)
    video = video.filter("setsar", "1")
    gop = max(1, round(2 * fps)) if fps > 0 else 50
    output = ffmpeg.output(
        video,
        audio,
        str(out),
        t=f"{seconds:.6f}",
        vcodec="libx264",
        preset=preset,
        crf=crf,
        pix_fmt="yuv420p",
        g=gop,
        acodec="aac",
        audio_bitrate="128k",
        movflags="+faststart",
    )
    return list(output.get_args())


async def cut_clip(
    binaries: Binaries,
    source: Path,
    out: Path,
    start: float,
    seconds: float,
    aspect: str,
    accurate: bool,
    src_width: int,
    src_height: int,
    fps: float,
    on_progress: ProgressCallback | None = None,
    *,
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
) -> None:
    """Write the clip [start, start + seconds) of ``source`` to ``out`` (an .mp4).

    ``src_width``/``src_height``/``fps`` come from the source's probe. On failure or
    cancellation a partial ``out`` is removed.
    """
    if not (math.isfinite(start) and start >= 0):
        raise ValueError(f"start must be >= 0, got {start}")
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"clip length must be positive, got {seconds}")
    args = build_cut_args(
        source,
        out,
        start,
        seconds,
        aspect,
        accurate,
        src_width,
        src_height,
        fps,
        preset=preset,
        crf=crf,
    )
    try:
        await run_ffmpeg(binaries, args, duration_seconds=seconds, on_progress=on_progress)
    except BaseException:
        _discard(out)
        raise


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
