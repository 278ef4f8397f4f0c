"""The runner additions: full stderr capture, raw probe JSON, cancellation."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import ffmpeg
import pytest

from editai.media.binaries import Binaries
from editai.media.ffmpeg import FFmpegError, InvalidMediaError, probe_json, run_ffmpeg_stderr


async def test_stderr_is_returned_whole(binaries: Binaries, media: dict[str, Path]) -> None:
    # showinfo logs one line per frame: 225 frames, far beyond run_ffmpeg's 30-line tail.
    args = (
        ffmpeg.input(str(media["scenes"]))["v:0"]
        .filter("showinfo")
        .output("-", format="null")
        .get_args()
    )
    lines = await run_ffmpeg_stderr(binaries, args)
    assert sum("Parsed_showinfo" in line and " n:" in line for line in lines) == 225
    tail = await run_ffmpeg_stderr(binaries, args, max_lines=10)
    assert len(tail) == 10


async def test_stderr_run_failure_raises(binaries: Binaries, tmp_path: Path) -> None:
    with pytest.raises(FFmpegError) as info:
        await run_ffmpeg_stderr(binaries, ["-i", str(tmp_path / "missing.mp4"), "-f", "null", "-"])
    assert "missing.mp4" in info.value.detail


async def test_probe_json_lists_every_stream(
    binaries: Binaries, media: dict[str, Path], tmp_path: Path
) -> None:
    info = await probe_json(binaries, media["scenes"])
    assert [s["codec_type"] for s in info["streams"]] == ["video", "audio"]
    assert float(info["format"]["duration"]) == pytest.approx(9.0, abs=0.05)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    with pytest.raises(InvalidMediaError):
        await probe_json(binaries, junk)


async def test_cancelling_stops_ffmpeg_promptly(binaries: Binaries) -> None:
    # -re: real-time input, so this run would take an hour.
    args = (
        ffmpeg.input("testsrc2=size=64x64:rate=10:duration=3600", f="lavfi", re=None)
        .output("-", format="null")
        .get_args()
    )
    task = asyncio.create_task(run_ffmpeg_stderr(binaries, args))
    await asyncio.sleep(0.5)
    assert not task.done()
    began = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - began < 1.0
