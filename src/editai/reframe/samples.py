"""What face detection found in a clip window: the values passed from ``detect`` to ``path``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Face:
    """A face box in source pixels, and the detector's confidence (0..1)."""

    x: float
    y: float
    width: float
    height: float
    score: float

    @property
    def centre_x(self) -> float:
        return self.x + self.width / 2

    @property
    def centre_y(self) -> float:
        return self.y + self.height / 2

    @property
    def area(self) -> float:
        return self.width * self.height


@dataclass(frozen=True, slots=True)
class Sample:
    """The faces in the frame shown at ``time`` seconds after the clip's start."""

    time: float
    faces: tuple[Face, ...]


@dataclass(frozen=True, slots=True)
class FaceTrack:
    """A clip window's samples, its scene cuts (clip times) and the detector that ran."""

    samples: tuple[Sample, ...]
    cuts: tuple[float, ...]
    detector: str
