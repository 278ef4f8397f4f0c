"""The crop path of a FACE clip, planned from its face samples (pure: no I/O).

The clip is split into shots at its scene cuts; each shot is framed on its own, and the
crop may jump only at a cut. Within a shot:

* no face in most samples -> the centred crop (``no_face``);
* two or more faces in most samples -> the whole shot FIT_BLUR (``faces``), or, with
  ``LARGEST_FACE``, the largest face is followed (``largest_face``). A second face counts
  only when it has at least ``companion_area`` of the largest one's area: a face far in
  the background does not make a shot a two-shot;
* otherwise the largest face is followed (``face``):

  1. its centre along the free axis (x for a crop narrower than the source, else y), gaps
     filled from the neighbouring samples, median-filtered over ``smooth_seconds`` (one
     wrong box never moves the crop; a steady move passes unchanged);
  2. holds: from a sample, the crop holds the median of the samples that stay within the
     dead zone (``dead_zone`` x the crop's length) of it; an excursion shorter than
     ``settle_seconds`` is held through (one still under way when the shot ends: half
     that). A hold shorter than ``settle_seconds`` is no hold:
     the face is moving, and the crop follows the filtered centre. The plan sees the
     whole clip, so a lasting move is known when it starts: the crop re-aims at once,
     instead of lagging a second behind (the face would leave the frame's middle);
  3. glides: the held/followed positions, on a ``grid_seconds`` grid, are averaged twice
     over ``glide_seconds / 2`` (a triangular kernel): a change of hold becomes an eased
     glide of ``glide_seconds``, a hold stays exactly still, nothing jitters;
  4. clamped so the crop stays inside the frame, then simplified to the points where the
     path bends (a still shot is two points).

Offsets are the crop's top-left coordinate along the axis, in source pixels; times are
seconds from the clip's start.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from editai.reframe.samples import Face, FaceTrack, Sample

Axis = Literal["x", "y"]
ShotMode = Literal["CROP", "FIT_BLUR"]
MULTIPLE_FACES_CHOICES = ("FIT_BLUR", "LARGEST_FACE")


@dataclass(frozen=True, slots=True)
class PathSettings:
    dead_zone: float = 0.1
    settle_seconds: float = 1.0
    glide_seconds: float = 0.6
    smooth_seconds: float = 1.0
    face_share: float = 0.5
    group_share: float = 0.5
    companion_area: float = 0.25
    min_shot_seconds: float = 0.5
    grid_seconds: float = 0.1
    tolerance_px: float = 0.5


@dataclass(frozen=True, slots=True)
class Shot:
    start: float
    end: float
    mode: ShotMode
    reason: str  # face | largest_face | no_face | faces
    points: tuple[tuple[float, float], ...]  # (time, offset); one or more, times ascending

    def offset_at(self, time: float) -> float:
        return _interpolate(self.points, time)


@dataclass(frozen=True, slots=True)
class CropPath:
    axis: Axis
    width: int
    height: int
    fixed_offset: int  # along the other axis: centred
    shots: tuple[Shot, ...]

    def shot_at(self, time: float) -> Shot:
        for shot in self.shots:
            if time < shot.end:
                return shot
        return self.shots[-1]

    def offset_at(self, time: float) -> float:
        return self.shot_at(time).offset_at(time)

    @property
    def modes(self) -> set[ShotMode]:
        return {shot.mode for shot in self.shots}


def shot_bounds(
    cuts: Sequence[float], duration: float, min_seconds: float
) -> list[tuple[float, float]]:
    """[start, end) of each shot; cuts closer than ``min_seconds`` to a bound are dropped."""
    bounds = [0.0]
    for cut in sorted(cuts):
        if cut - bounds[-1] >= min_seconds and duration - cut >= min_seconds:
            bounds.append(cut)
    bounds.append(duration)
    return list(itertools.pairwise(bounds))


def plan_path(
    track: FaceTrack,
    duration: float,
    src_w: int,
    src_h: int,
    crop_w: int,
    crop_h: int,
    multiple_faces: str = "FIT_BLUR",
    settings: PathSettings = PathSettings(),
) -> CropPath:
    """The crop path of a ``crop_w`` x ``crop_h`` crop of a ``src_w`` x ``src_h`` clip."""
    if multiple_faces not in MULTIPLE_FACES_CHOICES:
        raise ValueError(f"unknown multiple_faces {multiple_faces!r}")
    axis: Axis = "x" if src_w - crop_w >= src_h - crop_h else "y"
    length, room = (crop_w, src_w - crop_w) if axis == "x" else (crop_h, src_h - crop_h)
    fixed = (src_h - crop_h) // 2 if axis == "x" else (src_w - crop_w) // 2
    planner = _ShotPlanner(axis, length, room, multiple_faces, settings)
    shots = tuple(
        planner.plan([s for s in track.samples if start <= s.time < end], start, end)
        for start, end in shot_bounds(track.cuts, duration, settings.min_shot_seconds)
    )
    return CropPath(axis, crop_w, crop_h, fixed, shots)


def centred_path(src_w: int, src_h: int, crop_w: int, crop_h: int, duration: float) -> CropPath:
    """The path of a centred crop: one still shot."""
    axis: Axis = "x" if src_w - crop_w >= src_h - crop_h else "y"
    room = src_w - crop_w if axis == "x" else src_h - crop_h
    fixed = (src_h - crop_h) // 2 if axis == "x" else (src_w - crop_w) // 2
    still = float(room // 2)
    shot = Shot(0.0, duration, "CROP", "no_face", ((0.0, still), (duration, still)))
    return CropPath(axis, crop_w, crop_h, fixed, (shot,))


def fit_blur_path(src_w: int, src_h: int, crop_w: int, crop_h: int, duration: float) -> CropPath:
    """The whole clip FIT_BLUR (layout FIT_BLUR): one shot, nothing followed."""
    centred = centred_path(src_w, src_h, crop_w, crop_h, duration)
    shot = replace(centred.shots[0], mode="FIT_BLUR", reason="layout")
    return replace(centred, shots=(shot,))


@dataclass(frozen=True, slots=True)
class _ShotPlanner:
    axis: Axis
    length: int  # the crop's size along the axis
    room: int  # how far the crop can move along it
    multiple_faces: str
    settings: PathSettings

    def plan(self, samples: Sequence[Sample], start: float, end: float) -> Shot:
        centre = float(self.room // 2)
        still = ((start, centre), (end, centre))
        faces = [self._people(s.faces) for s in samples]
        count = max(len(samples), 1)
        if sum(1 for f in faces if f) <= count * self.settings.face_share or not samples:
            return Shot(start, end, "CROP", "no_face", still)
        grouped = sum(1 for f in faces if len(f) >= 2) > count * self.settings.group_share
        if grouped and self.multiple_faces == "FIT_BLUR":
            return Shot(start, end, "FIT_BLUR", "faces", still)
        reason = "largest_face" if grouped else "face"
        times = [s.time for s in samples]
        centres = _filled([self._centre(f[0]) if f else None for f in faces])
        step = _median_step(times)
        smooth = _median_filter(centres, _odd(self.settings.smooth_seconds / step))
        targets = self._targets(times, smooth, end)
        points = self._glide(times, targets, start, end)
        return Shot(start, end, "CROP", reason, points)

    def _people(self, faces: Sequence[Face]) -> list[Face]:
        """The faces that count, largest first."""
        ranked = sorted(faces, key=lambda f: f.area, reverse=True)
        if not ranked:
            return []
        floor = ranked[0].area * self.settings.companion_area
        return [f for f in ranked if f.area >= floor]

    def _centre(self, face: Face) -> float:
        return face.centre_x if self.axis == "x" else face.centre_y

    def _targets(self, times: list[float], centres: list[float], end: float) -> list[float]:
        """Where the crop's centre aims at each sample: a hold's median, or the face."""
        dead = self.settings.dead_zone * self.length
        settle = self.settings.settle_seconds
        targets = list(centres)
        i, n = 0, len(centres)
        while i < n:
            stop, held, lasted = _hold(times, centres, i, dead, settle, end)
            if lasted >= settle or (i == 0 and stop == n):
                targets[i:stop] = [held] * (stop - i)
                i = stop
            else:
                i += 1  # moving: follow the filtered centre
        return targets

    def _glide(
        self, times: list[float], targets: list[float], start: float, end: float
    ) -> tuple[tuple[float, float], ...]:
        grid_step = self.settings.grid_seconds
        steps = max(1, math.ceil((end - start) / grid_step))
        grid = [min(start + k * grid_step, end) for k in range(steps + 1)]
        values = [_interpolate(tuple(zip(times, targets, strict=True)), t) for t in grid]
        # Two boxes of glide_seconds / 2 each make a triangular kernel glide_seconds wide.
        box = max(1, round((self.settings.glide_seconds / 2 / grid_step - 1) / 2))
        values = _box(_box(values, box), box)
        half = self.length / 2
        offsets = [min(max(v - half, 0.0), float(self.room)) for v in values]
        offsets = [float(round(o)) for o in offsets]
        return _simplify(list(zip(grid, offsets, strict=True)), self.settings.tolerance_px)


def _hold(
    times: list[float], values: list[float], first: int, dead: float, settle: float, end: float
) -> tuple[int, float, float]:
    """(end index, exclusive; held value; seconds its samples span) of the hold that
    starts at sample ``first``. The span counts each inside sample as lasting until the
    next sample: a face that left the dead zone just before the shot's end is no hold."""
    inside = [values[first]]
    n, j, stop = len(values), first + 1, first + 1
    last_inside = first
    while j < n:
        held = statistics.median(inside)
        if abs(values[j] - held) <= dead:
            inside.append(values[j])
            last_inside = j
            j += 1
            stop = j
            continue
        k = j
        while k < n and abs(values[k] - held) > dead:
            k += 1
        # Still away when the shot ends: how long it would stay is unknown, so half the
        # time counts (else a face leaving in the shot's last second would leave the frame).
        if (times[k] - times[j] if k < n else (end - times[j]) * 2) >= settle:
            break  # a lasting move: the hold ends where it starts
        j = stop = k if k < n else n  # a short excursion, held through
    span = (times[last_inside + 1] if last_inside + 1 < n else end) - times[first]
    return stop, statistics.median(inside), span


def _filled(values: list[float | None]) -> list[float]:
    """Gaps filled linearly between known neighbours, and with the nearest at the ends."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if not known:
        raise ValueError("no known value")
    out: list[float] = []
    for i, value in enumerate(values):
        if value is not None:
            out.append(value)
            continue
        before = [(k, v) for k, v in known if k < i]
        after = [(k, v) for k, v in known if k > i]
        if before and after:
            (a, va), (b, vb) = before[-1], after[0]
            out.append(va + (vb - va) * (i - a) / (b - a))
        else:
            out.append((before[-1] if before else after[0])[1])
    return out


def _median_step(times: list[float]) -> float:
    gaps = [b - a for a, b in itertools.pairwise(times) if b > a]
    return statistics.median(gaps) if gaps else 1.0


def _odd(samples: float) -> int:
    count = max(1, round(samples))
    return count if count % 2 else count + 1


def _median_filter(values: list[float], width: int) -> list[float]:
    """Centred running median; the window shrinks symmetrically at the ends, so a steady
    move is not bent there."""
    n = len(values)
    out = []
    for i in range(n):
        half = min(width // 2, i, n - 1 - i)
        out.append(statistics.median(values[i - half : i + half + 1]))
    return out


def _box(values: list[float], half: int) -> list[float]:
    """Centred moving average over 2 * half + 1 values, the ends repeated outward."""
    padded = [values[0]] * half + values + [values[-1]] * half
    width = 2 * half + 1
    return [sum(padded[i : i + width]) / width for i in range(len(values))]


def _interpolate(points: Sequence[tuple[float, float]], time: float) -> float:
    """Piecewise-linear through ``points`` (held flat before the first and after the last)."""
    if time <= points[0][0]:
        return points[0][1]
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if time <= t1:
            return v1 if t1 <= t0 else v0 + (v1 - v0) * (time - t0) / (t1 - t0)
    return points[-1][1]


def _simplify(
    points: list[tuple[float, float]], tolerance: float
) -> tuple[tuple[float, float], ...]:
    """Ramer-Douglas-Peucker on (time, offset), iterative: the points where the path bends."""
    keep = {0, len(points) - 1}
    spans = [(0, len(points) - 1)]
    while spans:
        first, last = spans.pop()
        (t0, v0), (t1, v1) = points[first], points[last]
        worst, at = tolerance, -1
        for k in range(first + 1, last):
            t, v = points[k]
            line = v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v0
            if abs(v - line) > worst:
                worst, at = abs(v - line), k
        if at >= 0:
            keep.add(at)
            spans += [(first, at), (at, last)]
    return tuple(points[k] for k in sorted(keep))
