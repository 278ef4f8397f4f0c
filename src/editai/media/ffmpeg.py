"""Running FFmpeg and ffprobe as asyncio subprocesses (never blocking the event loop).

Commands are built with ffmpeg-python (``ffmpeg.input(...).output(...).get_args()``) and
run here, started by ``editai.child_processes``: each process leads its own process group,
so cancelling the awaiting task kills FFmpeg and anything it spawned at once, and it dies
with the worker that started it.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from editai.child_processes import start_child, stop_child
from editai.logging import get_logger
from editai.media.binaries import Binaries
from editai.metrics import FFMPEG_RUNS

log = get_logger(__name__)

ProgressCallback = Callable[[float], Awaitable[None]]


class FFmpegError(RuntimeError):
    """FFmpeg exited non-zero. ``detail`` is the end of its stderr (for logs, not clients)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class InvalidMediaError(ValueError):
    """The file is not a decodable video."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    duration_seconds: float
    width: int
    height: int
    fps: float
    video_codec: str
    audio_codec: str | None
    size_bytes: int
    format_name: str


# The lowest priority: encoding is batch work; the API's requests come first (with 10,
# two 1080p exports on 2 cores tripled the API's p95; see bench/latency_under_load.py).
FFMPEG_NICE = 19


def lower_priority() -> None:
    """In the child, before exec: FFmpeg yields the CPU to the API. Its own session (made by
    ``start_child`` before this runs, under uvloop too) is its own scheduler autogroup,
    which plain nice() does not reach: the autogroup's nice value has to be set too.
    Set in a child that still shared the server's session, it lowered the *server's*.
    """
    try:
        os.nice(FFMPEG_NICE)
        fd = os.open("/proc/self/autogroup", os.O_WRONLY)
        try:
            os.write(fd, str(FFMPEG_NICE).encode())
        finally:
            os.close(fd)
    except OSError:
        pass


async def _drain(stream: asyncio.StreamReader | None, keep: deque[str]) -> None:
    if stream is None:
        return
    async for raw in stream:
        keep.append(raw.decode(errors="replace").rstrip())


async def _run(
    binaries: Binaries,
    args: Sequence[str],
    stderr_lines: deque[str],
    *,
    duration_seconds: float | None,
    on_progress: ProgressCallback | None,
) -> None:
    cmd = [binaries.ffmpeg, "-hide_banner", "-nostdin", "-y", "-nostats", "-progress", "pipe:1"]
    cmd += list(args)
    process = await start_child(*cmd, before_exec=lower_priority)
    stderr_task = asyncio.create_task(_drain(process.stderr, stderr_lines))
    try:
        assert process.stdout is not None
        async for raw in process.stdout:
            key, _, value = raw.decode(errors="replace").strip().partition("=")
            if on_progress is None:
                continue
            if key == "out_time_us" and duration_seconds and value.lstrip("-").isdigit():
                fraction = int(value) / 1_000_000 / duration_seconds
                await on_progress(min(max(fraction, 0.0), 1.0))
            elif key == "progress" and value == "end":
                await on_progress(1.0)
        returncode = await process.wait()
        await stderr_task
    except BaseException:
        await stop_child(process)
        stderr_task.cancel()
        FFMPEG_RUNS.labels("stopped").inc()
        raise
    FFMPEG_RUNS.labels("succeeded" if returncode == 0 else "failed").inc()
    if returncode != 0:
        detail = "\n".join(list(stderr_lines)[-30:])
        log.warning("ffmpeg failed", returncode=returncode, stderr=detail[-2000:])
        raise FFmpegError(f"ffmpeg exited with code {returncode}", detail)


async def run_ffmpeg(
    binaries: Binaries,
    args: Sequence[str],
    *,
    duration_seconds: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> None:
    """Run ``ffmpeg <args>``; report progress (0..1) from ``-progress pipe:1``.

    Cancelling the awaiting task SIGKILLs the whole process group before re-raising.
    """
    await _run(
        binaries,
        args,
        deque(maxlen=30),
        duration_seconds=duration_seconds,
        on_progress=on_progress,
    )


async def run_ffmpeg_stderr(
    binaries: Binaries,
    args: Sequence[str],
    *,
    duration_seconds: float | None = None,
    on_progress: ProgressCallback | None = None,
    max_lines: int = 10_000,
) -> list[str]:
    """Like :func:`run_ffmpeg`, but return the last ``max_lines`` lines of stderr.

    For filters that report a summary when they finish (``loudnorm=print_format=json``,
    ``ebur128``, ``volumedetect``); per-frame filter output belongs in a file instead
    (``metadata=mode=print:file=...``).
    """
    lines: deque[str] = deque(maxlen=max_lines)
    await _run(binaries, args, lines, duration_seconds=duration_seconds, on_progress=on_progress)
    return list(lines)


async def _capture(*cmd: str, limit_seconds: float) -> tuple[int, bytes, bytes]:
    process = await start_child(*cmd, before_exec=lower_priority)
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=limit_seconds)
    except BaseException:
        await stop_child(process)
        raise
    return process.returncode or 0, stdout, stderr


def _fps(stream: dict[str, Any]) -> float:
    for key in ("avg_frame_rate", "r_frame_rate"):
        num, _, den = str(stream.get(key) or "0/0").partition("/")
        try:
            value = float(num) / float(den or 1)
        except (ValueError, ZeroDivisionError):
            continue
        if value > 0:
            return round(value, 3)
    return 0.0


async def probe_video(binaries: Binaries, path: Path, limit_seconds: float = 60.0) -> ProbeResult:
    """Facts of a video file; InvalidMediaError unless it has a decodable video stream."""
    info = await probe_json(binaries, path, limit_seconds)
    streams = info.get("streams") or []
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video"
            and not (s.get("disposition") or {}).get("attached_pic")
        ),
        None,
    )
    if video is None:
        raise InvalidMediaError("the file has no video stream")
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    fmt = info.get("format") or {}
    try:
        duration = float(fmt.get("duration") or video.get("duration") or 0)
    except ValueError:
        duration = 0.0
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if duration <= 0 or width <= 0 or height <= 0:
        raise InvalidMediaError("the video has no duration or frame size")
    # ffprobe reads headers only: decode one frame to prove the stream is really decodable.
    code, _, _ = await _capture(
        binaries.ffmpeg,
        "-v", "error", "-nostdin",
        "-i", str(path),
        "-map", "0:v:0", "-frames:v", "1",
        "-f", "null", "-",
        limit_seconds=limit_seconds,
    )  # fmt: skip
    if code != 0:
        raise InvalidMediaError("the video stream cannot be decoded")
    return ProbeResult(
        duration_seconds=duration,
        width=width,
        height=height,
        fps=_fps(video),
        video_codec=str(video.get("codec_name") or "unknown"),
        audio_codec=str(audio.get("codec_name")) if audio else None,
        size_bytes=int(fmt.get("size") or 0) or await asyncio.to_thread(os.path.getsize, path),
        format_name=str(fmt.get("format_name") or ""),
    )


async def keyframe_at_or_before(
    binaries: Binaries, path: Path, seconds: float, limit_seconds: float = 60.0
) -> float:
    """Where a stream copy with ``-ss seconds`` before ``-i`` really starts: the video
    keyframe FFmpeg seeks to (at or before ``seconds``), in seconds from the file's start.

    ffprobe's ``-read_intervals`` seeks like FFmpeg's input ``-ss``, except that FFmpeg
    adds the container's start time to the target: added here too. Only packet headers
    are read (nothing decoded). Falls back to ``seconds`` if nothing usable is found.
    """

    async def ffprobe_json(*args: str) -> dict[str, Any]:
        cmd = [binaries.ffprobe, "-v", "error", "-print_format", "json", *args, str(path)]
        code, out, _ = await _capture(*cmd, limit_seconds=limit_seconds)
        if code != 0:
            raise InvalidMediaError("not a readable media file")
        try:
            info = json.loads(out)
        except json.JSONDecodeError as exc:
            raise InvalidMediaError("not a readable media file") from exc
        return info if isinstance(info, dict) else {}

    fmt = (await ffprobe_json("-show_entries", "format=start_time")).get("format") or {}
    try:
        offset = float(fmt.get("start_time") or 0.0)
    except ValueError:
        offset = 0.0
    first_packet = [
        "-select_streams", "v:0",
        "-read_intervals", f"{seconds + offset:.6f}%+#1",
        "-show_entries", "packet=pts_time,dts_time",
    ]  # fmt: skip
    packets = (await ffprobe_json(*first_packet)).get("packets") or []
    for packet in packets:
        for key in ("pts_time", "dts_time"):
            try:
                found = float(packet.get(key))
            except (TypeError, ValueError):
                continue
            return min(max(found - offset, 0.0), seconds)
    return seconds


async def probe_json(binaries: Binaries, path: Path, limit_seconds: float = 60.0) -> dict[str, Any]:
    """ffprobe's full ``-show_format -show_streams`` JSON (every stream, every field)."""
    code, out, _ = await _capture(
        binaries.ffprobe,
        "-v", "error",
        "-print_format", "json",
        "-show_format", "-show_streams",
        str(path),
        limit_seconds=limit_seconds,
    )  # fmt: skip
    if code != 0:
        raise InvalidMediaError("not a readable media file")
    try:
        info = json.loads(out)
    except json.JSONDecodeError as exc:
        raise InvalidMediaError("not a readable media file") from exc
    if not isinstance(info, dict):
        raise InvalidMediaError("not a readable media file")
    return info
