"""The face detector, run as a child process: ``python -m editai.reframe.faces``.

It reads raw BGR frames (``--width`` x ``--height``, 3 bytes a pixel) from stdin, as
FFmpeg decodes them for it (see ``detect``), and writes one JSON line per frame to
stdout: ``{"i": index, "faces": [[x, y, w, h, score], ...]}`` in the frame's pixels. The
first line names the detector: ``{"detector": "yunet"}``, or ``{"detector": "haar",
"reason": ...}`` when the YuNet model is missing or fails its checksum (model_files).

A child, not a thread: OpenCV holds the GIL in places and uses its own threads; here it
cannot slow the server's event loop, and killing the child stops it at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import cv2
import numpy as np

from editai.reframe.model_files import HAAR_CASCADE, yunet_problem

YUNET_SCORE = 0.7
YUNET_NMS = 0.3
YUNET_TOP_K = 50

Detect = Callable[[Any], list[list[float]]]


def yunet_detector(model: Path, width: int, height: int) -> Detect:
    detector = cv2.FaceDetectorYN.create(
        str(model), "", (width, height), YUNET_SCORE, YUNET_NMS, YUNET_TOP_K
    )

    def detect(frame: Any) -> list[list[float]]:
        _, found = detector.detect(frame)
        if found is None:
            return []
        return [[float(v) for v in row[:4]] + [float(row[14])] for row in found]

    return detect


def haar_detector(width: int, height: int) -> Detect:
    folder = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
    cascade = cv2.CascadeClassifier(str(folder / HAAR_CASCADE))
    smallest = max(12, min(width, height) // 20)

    def detect(frame: Any) -> list[list[float]]:
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        boxes = cascade.detectMultiScale(gray, 1.1, 5, minSize=(smallest, smallest))
        # Haar gives no confidence: every box it keeps counts fully.
        return [[float(x), float(y), float(w), float(h), 1.0] for x, y, w, h in boxes]

    return detect


def choose_detector(model: Path | None, width: int, height: int) -> tuple[Detect, dict[str, str]]:
    problem = yunet_problem(model)
    if problem is None and model is not None:
        return yunet_detector(model, width, height), {"detector": "yunet"}
    return haar_detector(width, height), {"detector": "haar", "reason": problem or ""}


def _read_frame(stream: BinaryIO, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None if not data else bytes(data)
        data += chunk
    return bytes(data)


def run(model: Path | None, width: int, height: int, source: BinaryIO, sink: Any) -> int:
    # One thread: the machine's cores belong to the API and FFmpeg first.
    cv2.setNumThreads(1)
    detect, header = choose_detector(model, width, height)
    sink.write(json.dumps(header) + "\n")
    sink.flush()
    size = width * height * 3
    index = 0
    while (data := _read_frame(source, size)) is not None:
        if len(data) != size:
            print(f"a partial frame: {len(data)} of {size} bytes", file=sys.stderr)
            return 2
        frame = np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)
        faces = [[round(v, 2) for v in face] for face in detect(frame)]
        sink.write(json.dumps({"i": index, "faces": faces}) + "\n")
        sink.flush()
        index += 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--model", type=Path, default=None, help="YuNet ONNX (checked first)")
    args = parser.parse_args(argv)
    return run(args.model, args.width, args.height, sys.stdin.buffer, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
