"""Faces and scene cuts of a clip window: FFmpeg decodes, a child process detects.

One FFmpeg pass over [start, start + seconds) of the source, scaled to at most
``ANALYSIS_WIDTH`` pixels wide (fast bilinear), feeds two chains:

* ``fps=SAMPLE_FPS``: raw BGR frames to a pipe read by the detector child
  (``python -m editai.reframe.faces``), which answers one JSON line per frame;
* ``scdet`` at full frame rate: the clip's own scene cuts (FFmpeg's scene detection, as
  ``media.analysis`` runs it), so a clip framed again later needs nothing stored.

Both processes are started by ``child_processes.start_child`` (own process group, killed
with their parent): cancelling stops both at once. Nothing is decoded or detected on the
event loop; it only reads the child's lines, which also give the progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections import deque
from pathlib import Path
from typing import Any

import ffmpeg

from editai.child_processes import ChildFailed, start_child, stop_child
from editai.logging import get_logger
from editai.media.analysis import (
    SCENE_THRESHOLD,
    parse_metadata_print,
    parse_scene_changes,
)
from editai.media.binaries import Binaries
from editai.media.ffmpeg import FFmpegError, ProgressCallback, lower_priority
from editai.reframe.model_files import yunet_model_path
from editai.reframe.samples import Face, FaceTrack, Sample

log = get_logger(__name__)

ANALYSIS_WIDTH = 640
SAMPLE_FPS = 3.0


class FaceDetectionError(ChildFailed):
    """The detector child failed. ``detail`` is the end of its stderr (for logs)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


def analysis_size(src_w: int, src_h: int) -> tuple[int, int]:
    """The frame size the detector sees: at most ANALYSIS_WIDTH wide, even sides."""
    width = min(ANALYSIS_WIDTH, src_w)
    width -= width % 2
    height = max(2, round(src_h * width / src_w))
    return max(2, width), height - height % 2


def build_decode_args(
    source: Path,
    start: float,
    seconds: float,
    size: tuple[int, int],
    cuts_file: Path,
    sample_fps: float = SAMPLE_FPS,
) -> list[str]:
    src = ffmpeg.input(str(source), ss=f"{start:.6f}", t=f"{seconds:.6f}")
    # fast_bilinear: a third of bicubic's cost on a 1080p source, and faces at 640 px
    # do not need a finer filter.
    scaled = (
        src["v:0"]
        .filter("scale", size[0], size[1], flags="fast_bilinear")
        .filter_multi_output("split")
    )
    frames = scaled[0].filter("fps", fps=sample_fps)
    cuts = (
        scaled[1]
        .filter("scdet", threshold=SCENE_THRESHOLD)
        .filter("metadata", mode="select", key="lavfi.scd.time")
        .filter("metadata", mode="print", file=str(cuts_file))
    )
    outputs = ffmpeg.merge_outputs(
        ffmpeg.output(frames, "pipe:1", format="rawvideo", pix_fmt="bgr24"),
        ffmpeg.output(cuts, "-", format="null"),
    )
    return list(outputs.get_args())


async def _drain(stream: asyncio.StreamReader | None, keep: deque[str]) -> None:
    if stream is not None:
        async for raw in stream:
            keep.append(raw.decode(errors="replace").rstrip())


async def detect_faces(
    binaries: Binaries,
    source: Path,
    start: float,
    seconds: float,
    src_w: int,
    src_h: int,
    work_dir: Path,
    on_progress: ProgressCallback | None = None,
    *,
    model: Path | None = None,
    sample_fps: float = SAMPLE_FPS,
) -> FaceTrack:
    """Faces sampled at ``sample_fps`` (times from ``start``, boxes in source pixels) and
    the window's scene cuts. ``model`` overrides the installed YuNet file (tests)."""
    size = analysis_size(src_w, src_h)
    cuts_file = work_dir / f"reframe-cuts-{uuid.uuid4().hex}.txt"
    args = build_decode_args(source, start, seconds, size, cuts_file, sample_fps)
    model = model or yunet_model_path()
    child_cmd = [sys.executable, "-m", "editai.reframe.faces", "--width", str(size[0])]
    child_cmd += ["--height", str(size[1])] + (["--model", str(model)] if model else [])
    decoder_err: deque[str] = deque(maxlen=30)
    child_err: deque[str] = deque(maxlen=30)
    processes: list[asyncio.subprocess.Process] = []
    tasks: list[asyncio.Task[None]] = []
    read_end, write_end = os.pipe()
    try:
        try:
            cmd = [binaries.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", *args]
            processes.append(await start_child(*cmd, stdout=write_end, before_exec=lower_priority))
            processes.append(
                await start_child(*child_cmd, stdin=read_end, before_exec=lower_priority)
            )
        finally:
            os.close(read_end)
            os.close(write_end)
        decoder, child = processes
        tasks = [
            asyncio.create_task(_drain(decoder.stderr, decoder_err)),
            asyncio.create_task(_drain(child.stderr, child_err)),
        ]
        samples, detector = await _read_samples(
            child, size, src_w, src_h, seconds, sample_fps, on_progress
        )
        decoder_code, child_code = await decoder.wait(), await child.wait()
        await asyncio.gather(*tasks)
    except BaseException:
        for process in processes:
            await stop_child(process)
        for task in tasks:
            task.cancel()
        _discard(cuts_file)
        raise
    try:
        # The detector first: when it dies, the decoder writing to it fails too (EPIPE).
        if child_code != 0:
            detail = "\n".join(child_err)
            log.warning("face detection failed", returncode=child_code, stderr=detail[-2000:])
            raise FaceDetectionError(
                f"Face detection stopped unexpectedly (exit code {child_code})", detail
            )
        if decoder_code != 0:
            detail = "\n".join(decoder_err)
            log.warning("reframe decode failed", returncode=decoder_code, stderr=detail[-2000:])
            raise FFmpegError(f"ffmpeg exited with code {decoder_code}", detail)
        text = await asyncio.to_thread(_read_text, cuts_file)
    finally:
        _discard(cuts_file)
    cuts = tuple(c.time for c in parse_scene_changes(parse_metadata_print(text)))
    return FaceTrack(tuple(samples), cuts, detector)


async def _read_samples(
    child: asyncio.subprocess.Process,
    size: tuple[int, int],
    src_w: int,
    src_h: int,
    seconds: float,
    sample_fps: float,
    on_progress: ProgressCallback | None,
) -> tuple[list[Sample], str]:
    sx, sy = src_w / size[0], src_h / size[1]
    samples: list[Sample] = []
    detector = "unknown"
    assert child.stdout is not None
    async for raw in child.stdout:
        line: dict[str, Any] = json.loads(raw)
        if "detector" in line:
            detector = str(line["detector"])
            if line.get("reason"):
                log.warning("face detection falls back to Haar", reason=line["reason"])
            continue
        time = int(line["i"]) / sample_fps
        faces = tuple(
            Face(x * sx, y * sy, w * sx, h * sy, score) for x, y, w, h, score in line["faces"]
        )
        samples.append(Sample(time, faces))
        if on_progress is not None:
            await on_progress(min(1.0, (time + 1 / sample_fps) / seconds))
    return samples, detector


def _read_text(path: Path) -> str:
    # metadata=print creates its file on the first printed frame only.
    return path.read_text(errors="replace") if path.exists() else ""


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
