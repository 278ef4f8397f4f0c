"""render_clip: the one way to cut a clip out of a source, framed as its clip asks.

* ``CENTER`` + ``CROP``: today's cut (``media.render.cut_clip``; stream copy for SOURCE).
* ``CENTER`` + ``FIT_BLUR``: the whole frame over its blurred copy, no detection.
* ``FACE`` + ``CROP``: faces and cuts detected in the window (``detect``), a crop path
  planned per shot (``path``), the path driven through FFmpeg (``graph``).

Every re-encode is the one ``cut_clip`` makes (libx264, yuv420p, a keyframe every 2 s,
AAC 128 kb/s, ``-ss`` before ``-i`` and ``-t seconds`` on the output), at the frame size
``media.render.output_size`` gives: the clip lasts ``seconds`` to within one frame, and
FACE clips can be re-cut (trimmed) with the same framing.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path

from editai.jobs.progress import phase_progress
from editai.logging import get_logger
from editai.media.binaries import Binaries
from editai.media.ffmpeg import ProgressCallback, run_ffmpeg
from editai.media.filter_scripts import with_filter_script
from editai.media.render import DEFAULT_CRF, DEFAULT_PRESET, cut_clip, output_size
from editai.reframe.detect import detect_faces
from editai.reframe.graph import OUTPUT, framing_graph
from editai.reframe.path import CropPath, fit_blur_path, plan_path

log = get_logger(__name__)

REFRAMES = ("CENTER", "FACE")
LAYOUTS = ("CROP", "FIT_BLUR")
DETECTION_SHARE = 0.4  # of a FACE clip's progress: detection, then the encode


@dataclass(frozen=True, slots=True)
class Framing:
    """How a clip was framed: its path (None for a plain cut) and the detector used."""

    path: CropPath | None
    detector: str | None = None


def check_framing(aspect: str, reframe: str, layout: str) -> None:
    """ValueError for a combination that cannot be rendered (the service says it first)."""
    if reframe not in REFRAMES or layout not in LAYOUTS:
        raise ValueError(f"unknown framing {reframe}/{layout}")
    if aspect == "SOURCE" and (reframe, layout) != ("CENTER", "CROP"):
        raise ValueError("FACE and FIT_BLUR need an aspect other than SOURCE")
    if (reframe, layout) == ("FACE", "FIT_BLUR"):
        raise ValueError("FIT_BLUR shows the whole frame: there is no crop to follow faces with")


def build_framed_args(
    source: Path,
    out: Path,
    start: float,
    seconds: float,
    path: CropPath,
    fps: float,
    *,
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
) -> list[str]:
    gop = max(1, round(2 * fps)) if fps > 0 else 50
    return [
        "-ss", f"{start:.6f}", "-i", str(source),
        "-filter_complex", framing_graph(path),
        "-map", f"[{OUTPUT}]", "-map", "0:a:0?",
        "-t", f"{seconds:.6f}",
        "-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p",
        "-g", str(gop), "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart",
        str(out),
    ]  # fmt: skip


async def render_clip(
    binaries: Binaries,
    source_path: Path,
    out: Path,
    start: float,
    seconds: float,
    aspect: str,
    reframe: str,
    layout: str,
    multiple_faces: str,
    src_w: int,
    src_h: int,
    fps: float,
    on_progress: ProgressCallback | None,
    work_dir: Path,
    *,
    accurate: bool = False,
) -> Framing:
    """Write the clip [start, start + seconds) of ``source_path`` to ``out`` (an .mp4).

    ``aspect`` is a ClipAspect value, ``reframe`` CENTER|FACE, ``layout`` CROP|FIT_BLUR,
    ``multiple_faces`` FIT_BLUR|LARGEST_FACE (FACE only); ``accurate`` matters only for a
    SOURCE cut. ``work_dir`` (the job's temp dir) takes scratch files. On failure or
    cancellation every child process is stopped and a partial ``out`` removed.
    """
    check_framing(aspect, reframe, layout)
    if not (math.isfinite(start) and start >= 0):
        raise ValueError(f"start must be >= 0, got {start}")
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"clip length must be positive, got {seconds}")
    if (reframe, layout) == ("CENTER", "CROP"):
        await cut_clip(
            binaries, source_path, out, start, seconds, aspect, accurate,
            src_w, src_h, fps, on_progress,
        )  # fmt: skip
        return Framing(None)
    width, height = output_size(src_w, src_h, aspect)
    detector: str | None = None
    encode_progress = on_progress
    if reframe == "FACE":
        track = await detect_faces(
            binaries, source_path, start, seconds, src_w, src_h, work_dir,
            on_progress and phase_progress(on_progress, 0.0, DETECTION_SHARE),
        )  # fmt: skip
        detector = track.detector
        path = plan_path(track, seconds, src_w, src_h, width, height, multiple_faces)
        encode_progress = on_progress and phase_progress(on_progress, DETECTION_SHARE, 1.0)
    else:
        path = fit_blur_path(src_w, src_h, width, height, seconds)
    args = build_framed_args(source_path, out, start, seconds, path, fps)
    args = with_filter_script(args, work_dir)
    log.info(
        "framing clip",
        reframe=reframe,
        layout=layout,
        detector=detector,
        shots=[(round(s.start, 2), s.mode, s.reason, len(s.points)) for s in path.shots],
    )
    try:
        await run_ffmpeg(binaries, args, duration_seconds=seconds, on_progress=encode_progress)
    except BaseException:
        _discard(out)
        raise
    finally:
        if "-filter_complex_script" in args:
            _discard(Path(args[args.index("-filter_complex_script") + 1]))
    return Framing(path, detector)


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
