"""Looking at rendered clips: frames decoded by FFmpeg, faces found by the same detector the
server uses (YuNet, from the model file the server verifies), durations by ffprobe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from editai.media.binaries import Binaries
from editai.media.ffmpeg import run_ffmpeg
from editai.reframe.faces import yunet_detector
from editai.reframe.model_files import yunet_model_path, yunet_problem
from tests.media import measure


async def frames(
    binaries: Binaries, path: Path, fps: float, width: int, height: int, folder: Path
) -> list[Any]:
    """The clip's frames at ``fps`` as BGR arrays (height x width x 3)."""
    out = folder / f"frames-{path.stem}-{fps}.bgr"
    args = ["-i", str(path), "-map", "0:v:0", "-vf", f"fps={fps}"]
    args += ["-f", "rawvideo", "-pix_fmt", "bgr24", str(out)]
    await run_ffmpeg(binaries, args)
    data = np.frombuffer(out.read_bytes(), dtype=np.uint8)
    size = width * height * 3
    assert data.size % size == 0
    return [data[i : i + size].reshape(height, width, 3) for i in range(0, data.size, size)]


def face_centres_x(images: list[Any]) -> list[float | None]:
    """The largest face's centre (x) in each image, None where none is found."""
    model = yunet_model_path()
    assert yunet_problem(model) is None
    assert model is not None
    height, width = images[0].shape[:2]
    detect = yunet_detector(model, width, height)
    centres: list[float | None] = []
    for image in images:
        faces = sorted(detect(image), key=lambda f: f[2] * f[3], reverse=True)
        centres.append(faces[0][0] + faces[0][2] / 2 if faces else None)
    return centres


def share_in_middle_third(centres: list[float | None], width: int) -> float:
    inside = [c for c in centres if c is not None and width / 3 <= c <= 2 * width / 3]
    return len(inside) / len(centres)


async def durations(binaries: Binaries, path: Path) -> tuple[float, float, float]:
    """(video stream, audio stream, frame rate) of a clip."""
    _, streams = await measure.streams(binaries, path)
    video = next(s for s in streams if s["codec_type"] == "video")
    audio = next(s for s in streams if s["codec_type"] == "audio")
    num, den = video["avg_frame_rate"].split("/")
    return float(video["duration"]), float(audio["duration"]), int(num) / int(den)


def mean_abs_diff(a: Any, b: Any) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def gray(image: Any) -> Any:
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def face_centres_all(image: Any) -> list[tuple[float, float]]:
    """Every face's centre in one image."""
    model = yunet_model_path()
    assert yunet_problem(model) is None
    assert model is not None
    height, width = image.shape[:2]
    faces = yunet_detector(model, width, height)(image)
    return [(f[0] + f[2] / 2, f[1] + f[3] / 2) for f in faces]
