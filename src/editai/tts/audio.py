"""A provider's audio (WAV, MP3, ...) made into the stored voice-over: AAC in ``.m4a``."""

from __future__ import annotations

from pathlib import Path

import ffmpeg

from editai.media.binaries import Binaries
from editai.media.ffmpeg import ProgressCallback, probe_json, run_ffmpeg

SAMPLE_RATE = 48_000
BITRATE = "96k"  # mono speech


async def to_m4a(
    binaries: Binaries, source: Path, target: Path, on_progress: ProgressCallback | None = None
) -> None:
    args = (
        ffmpeg.input(str(source))
        .output(
            str(target),
            vn=None,
            ac=1,
            ar=SAMPLE_RATE,
            acodec="aac",
            audio_bitrate=BITRATE,
            movflags="+faststart",
            f="ipod",  # the .m4a flavour of MP4
        )
        .get_args()
    )
    await run_ffmpeg(binaries, args, on_progress=on_progress)


async def audio_duration(binaries: Binaries, path: Path) -> float:
    """Seconds of the file's first audio stream (the container's length as a fallback)."""
    info = await probe_json(binaries, path)
    for stream in info.get("streams") or []:
        if stream.get("codec_type") == "audio" and stream.get("duration"):
            return float(stream["duration"])
    return float((info.get("format") or {}).get("duration") or 0.0)
