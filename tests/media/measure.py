"""Measuring output files with FFmpeg itself (loudness, levels, frames) and by reading
MP4 boxes directly."""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import ffmpeg

from editai.media.binaries import Binaries
from editai.media.ffmpeg import probe_json, run_ffmpeg, run_ffmpeg_stderr


async def streams(binaries: Binaries, path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    info = await probe_json(binaries, path)
    return info["format"], info["streams"]


async def stream_of(binaries: Binaries, path: Path, kind: str) -> dict[str, Any] | None:
    _, all_streams = await streams(binaries, path)
    return next((s for s in all_streams if s.get("codec_type") == kind), None)


async def integrated_loudness(binaries: Binaries, path: Path) -> float:
    """EBU R128 integrated loudness (LUFS) from FFmpeg's ``ebur128`` summary."""
    args = (
        ffmpeg.input(str(path))["a:0"]
        .filter("ebur128", peak="true")
        .output("-", format="null")
        .get_args()
    )
    lines = await run_ffmpeg_stderr(binaries, args)
    values = [
        float(m.group(1)) for line in lines if (m := re.search(r"\bI:\s+(-?[\d.]+) LUFS", line))
    ]
    assert values, "\n".join(lines[-20:])
    return values[-1]


async def max_volume(binaries: Binaries, path: Path, start: float, seconds: float) -> float:
    """Peak level (dBFS, -91 for digital silence) of the audio in [start, start+seconds)."""
    args = (
        ffmpeg.input(str(path), ss=start, t=seconds)["a:0"]
        .filter("volumedetect")
        .output("-", format="null")
        .get_args()
    )
    lines = await run_ffmpeg_stderr(binaries, args)
    values = [
        float(m.group(1)) for line in lines if (m := re.search(r"max_volume: (-?[\d.]+) dB", line))
    ]
    assert values, "\n".join(lines[-20:])
    return values[-1]


async def gray_frame(
    binaries: Binaries, path: Path, at: float, width: int, height: int, folder: Path
) -> bytes:
    """The frame shown at ``at`` seconds as 8-bit luma, ``width * height`` bytes."""
    out = folder / f"frame-{path.stem}-{at:.3f}.gray"
    args = (
        ffmpeg.input(str(path), ss=at)["v:0"]
        .output(str(out), vframes=1, format="rawvideo", pix_fmt="gray")
        .get_args()
    )
    await run_ffmpeg(binaries, args)
    data = out.read_bytes()
    assert len(data) == width * height, (len(data), width, height)
    return data


async def mean_rgb(
    binaries: Binaries, path: Path, at: float, folder: Path
) -> tuple[float, float, float]:
    """Average colour of the frame shown at ``at`` seconds."""
    out = folder / f"rgb-{path.stem}-{at:.3f}.rgb"
    args = (
        ffmpeg.input(str(path), ss=at)["v:0"]
        .output(str(out), vframes=1, format="rawvideo", pix_fmt="rgb24")
        .get_args()
    )
    await run_ffmpeg(binaries, args)
    data = out.read_bytes()
    n = len(data) // 3
    assert n > 0
    return (sum(data[0::3]) / n, sum(data[1::3]) / n, sum(data[2::3]) / n)


def region_diff(a: bytes, b: bytes, width: int, rows: range) -> float:
    """Mean absolute luma difference of two frames over the given rows."""
    total = count = 0
    for row in rows:
        for x in range(row * width, (row + 1) * width):
            total += abs(a[x] - b[x])
            count += 1
    return total / count


def top_level_boxes(path: Path) -> list[str]:
    """Types of the top-level ISO-BMFF boxes, in file order."""
    names: list[str] = []
    size_total = path.stat().st_size
    with path.open("rb") as fh:
        offset = 0
        while offset < size_total:
            fh.seek(offset)
            header = fh.read(8)
            if len(header) < 8:
                break
            size, kind = struct.unpack(">I4s", header)
            if size == 1:
                size = struct.unpack(">Q", fh.read(8))[0]
            elif size == 0:
                size = size_total - offset
            names.append(kind.decode("latin-1"))
            if size < 8:
                break
            offset += size
    return names


def names_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def band_level(
    binaries: Binaries, path: Path, start: float, seconds: float, hz: int
) -> float:
    """Mean (RMS) level in dB of the audio around ``hz`` in [start, start+seconds)."""
    stream = ffmpeg.input(str(path), ss=start, t=seconds)["a:0"]
    for _ in range(2):
        stream = stream.filter("bandpass", f=hz, width_type="q", w=4)
    args = stream.filter("volumedetect").output("-", format="null").get_args()
    lines = await run_ffmpeg_stderr(binaries, args)
    values = [float(m.group(1)) for ln in lines if (m := re.search(r"mean_volume: (-?[\d.]+)", ln))]
    assert values, "\n".join(lines[-20:])
    return values[-1]
