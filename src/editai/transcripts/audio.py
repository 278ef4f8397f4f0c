"""The audio a transcriber reads: the source's first audio stream as 16 kHz mono WAV."""

from __future__ import annotations

from pathlib import Path

import ffmpeg

from editai.media.binaries import Binaries
from editai.media.ffmpeg import ProgressCallback, run_ffmpeg

SPEECH_RATE = 16_000  # what Whisper's feature extractor works at


async def extract_speech_audio(
    binaries: Binaries,
    source: Path,
    out: Path,
    *,
    duration: float,
    on_progress: ProgressCallback | None = None,
) -> Path:
    """Decode the first audio stream into ``out`` (16-bit PCM, mono, 16 kHz)."""
    stream = ffmpeg.input(str(source))["a:0"]
    args = ffmpeg.output(
        stream, str(out), ac=1, ar=SPEECH_RATE, acodec="pcm_s16le", map_metadata=-1
    ).get_args()
    await run_ffmpeg(binaries, args, duration_seconds=duration, on_progress=on_progress)
    return out
