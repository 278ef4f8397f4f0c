"""Frames of rendered captions read back as pixels (FFmpeg decodes, numpy counts)."""

from __future__ import annotations

from pathlib import Path

import ffmpeg
import numpy as np
import numpy.typing as npt

from editai.media.binaries import Binaries
from editai.media.ffmpeg import run_ffmpeg

Frame = npt.NDArray[np.uint8]  # height x width x 3, RGB


async def black_video(
    binaries: Binaries, out: Path, width: int, height: int, seconds: float
) -> Path:
    """A black H.264 video without audio (every bright pixel of an export is then ours)."""
    graph = f"color=c=black:size={width}x{height}:rate=25:duration={seconds}"
    args = (
        ffmpeg.input(graph, f="lavfi")
        .output(str(out), vcodec="libx264", preset="ultrafast", pix_fmt="yuv420p")
        .get_args()
    )
    await run_ffmpeg(binaries, args)
    return out


async def frame_at(binaries: Binaries, path: Path, at: float, size: tuple[int, int]) -> Frame:
    """The frame shown at ``at`` seconds, as RGB."""
    out = path.parent / f"{path.stem}-{at:.3f}.rgb"
    args = (
        ffmpeg.input(str(path), ss=at)["v:0"]
        .output(str(out), vframes=1, format="rawvideo", pix_fmt="rgb24")
        .get_args()
    )
    await run_ffmpeg(binaries, args)
    width, height = size
    data = np.frombuffer(out.read_bytes(), dtype=np.uint8)
    assert data.size == width * height * 3, (data.size, size)
    return data.reshape(height, width, 3)


async def every_frame(binaries: Binaries, path: Path, size: tuple[int, int]) -> list[Frame]:
    """All frames of ``path``, as RGB."""
    out = path.parent / f"{path.stem}-all.rgb"
    args = ffmpeg.input(str(path))["v:0"].output(str(out), format="rawvideo", pix_fmt="rgb24")
    await run_ffmpeg(binaries, args.get_args())
    width, height = size
    data = np.frombuffer(out.read_bytes(), dtype=np.uint8)
    assert data.size % (width * height * 3) == 0
    return list(data.reshape(-1, height, width, 3))


def near(frame: Frame, rgb: tuple[int, int, int], tolerance: int = 60) -> npt.NDArray[np.bool_]:
    """Pixels within ``tolerance`` of ``rgb`` in every channel."""
    mask: npt.NDArray[np.bool_] = np.all(
        np.abs(frame.astype(np.int16) - np.array(rgb)) <= tolerance, axis=2
    )
    return mask


def bright(frame: Frame, level: int = 60) -> npt.NDArray[np.bool_]:
    """Pixels with any channel above ``level`` (on black, only drawn text is)."""
    mask: npt.NDArray[np.bool_] = frame.max(axis=2) > level
    return mask


def bounding_box(mask: npt.NDArray[np.bool_]) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the set pixels, inclusive; None when there are none."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())
