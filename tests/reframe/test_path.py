"""The crop path planner (pure) and the FFmpeg expression it becomes."""

from __future__ import annotations

import itertools
import random

import pytest

from editai.reframe.graph import framing_graph, offset_expression
from editai.reframe.path import (
    CropPath,
    PathSettings,
    Shot,
    fit_blur_path,
    plan_path,
    shot_bounds,
)
from editai.reframe.samples import Face, FaceTrack, Sample

SRC_W, SRC_H = 1280, 720
CROP_W, CROP_H = 404, 720  # 9:16 of 1280x720
ROOM = SRC_W - CROP_W
RATE = 3.0
FPS = 30


def face_at(cx: float, size: float = 240.0, cy: float = 360.0) -> Face:
    return Face(cx - size / 2, cy - size / 2, size, size, 0.9)


def track(
    centre: list[float | None] | list[float], cuts: tuple[float, ...] = (), **kw: float
) -> FaceTrack:
    size = kw.get("size", 240.0)
    samples = tuple(
        Sample(i / RATE, () if x is None else (face_at(x, size),)) for i, x in enumerate(centre)
    )
    return FaceTrack(samples, cuts, "yunet")


def centres_over(seconds: float, where: object) -> list[float]:
    count = round(seconds * RATE)
    return [where(i / RATE) for i in range(count)]  # type: ignore[operator]


def plan(t: FaceTrack, seconds: float, multiple: str = "FIT_BLUR") -> CropPath:
    return plan_path(t, seconds, SRC_W, SRC_H, CROP_W, CROP_H, multiple)


def per_frame(path: CropPath, seconds: float) -> list[float]:
    return [path.offset_at(k / FPS) for k in range(round(seconds * FPS))]


def crop_centre(path: CropPath, t: float) -> float:
    return path.offset_at(t) + CROP_W / 2


def test_a_still_face_with_noisy_boxes_gives_a_still_crop() -> None:
    rng = random.Random(7)
    noisy = [500 + rng.uniform(-20, 20) for _ in range(30)]  # +-5 % of the crop
    noisy[10] = 900.0  # one wrong box
    path = plan(track(noisy), 10.0)
    (shot,) = path.shots
    assert (shot.mode, shot.reason) == ("CROP", "face")
    assert len(shot.points) == 2
    assert len(set(per_frame(path, 10.0))) == 1
    assert abs(crop_centre(path, 5.0) - 500) <= 20


def test_a_short_excursion_is_held_through() -> None:
    # The face leans far out for 0.67 s and comes back: not worth a re-aim.
    centres = [500.0] * 12 + [700.0] * 2 + [500.0] * 16
    path = plan(track(centres), 10.0)
    assert len(set(per_frame(path, 10.0))) == 1


def test_a_lasting_move_re_aims_with_one_eased_glide() -> None:
    centres = [400.0] * 15 + [800.0] * 15  # jumps at 5 s and stays
    path = plan(track(centres), 10.0)
    offsets = per_frame(path, 10.0)
    assert abs(crop_centre(path, 2.0) - 400) < 1
    assert abs(crop_centre(path, 8.0) - 800) < 1
    moving = [k / FPS for k, (a, b) in enumerate(itertools.pairwise(offsets)) if a != b]
    settings = PathSettings()
    # One glide, about glide_seconds long, around the move; monotone, slow at both ends.
    assert moving[-1] - moving[0] <= settings.glide_seconds + 1 / RATE
    assert moving[0] >= 4.4
    assert moving[-1] <= 5.6
    steps = [b - a for a, b in itertools.pairwise(offsets) if a != b]
    assert all(s > 0 for s in steps)
    assert steps[0] < max(steps)
    assert steps[-1] < max(steps)


def test_a_moving_face_is_followed_without_jitter() -> None:
    # 100 px/s for 6 s, then still: the crop keeps the face in its middle third.
    def where(t: float) -> float:
        return 300 + 100 * min(t, 6.0)

    path = plan(track(centres_over(9.0, where)), 9.0)
    for k in range(round(9.0 * FPS)):
        t = k / FPS
        assert abs(crop_centre(path, t) - where(t)) < CROP_W / 6, t
    offsets = per_frame(path, 9.0)
    assert all(b >= a for a, b in itertools.pairwise(offsets))  # never back and forth
    assert len(set(offsets[-round(1.5 * FPS) :])) == 1  # still again at the end


def test_no_face_holds_the_centre() -> None:
    path = plan(track([None] * 30), 10.0)
    (shot,) = path.shots
    assert (shot.mode, shot.reason) == ("CROP", "no_face")
    assert set(per_frame(path, 10.0)) == {ROOM // 2}


def test_a_face_in_too_few_samples_holds_the_centre() -> None:
    centres: list[float | None] = [None] * 30
    for i in range(0, 30, 3):
        centres[i] = 100.0
    (shot,) = plan(track(centres), 10.0).shots
    assert shot.reason == "no_face"


def test_the_crop_stays_inside_the_frame() -> None:
    left = plan(track([20.0] * 30), 10.0)
    right = plan(track([SRC_W - 5.0] * 30), 10.0)
    assert set(per_frame(left, 10.0)) == {0}
    assert set(per_frame(right, 10.0)) == {ROOM}


def _two_faces(big: float = 240, small: float = 240) -> FaceTrack:
    samples = tuple(Sample(i / RATE, (face_at(300, big), face_at(1000, small))) for i in range(30))
    return FaceTrack(samples, (), "yunet")


def test_two_faces_fit_blur_or_follow_the_largest() -> None:
    (shot,) = plan(_two_faces(), 10.0).shots
    assert (shot.mode, shot.reason) == ("FIT_BLUR", "faces")
    path = plan(_two_faces(big=200, small=260), 10.0, "LARGEST_FACE")
    assert (path.shots[0].mode, path.shots[0].reason) == ("CROP", "largest_face")
    assert abs(crop_centre(path, 5.0) - 1000) < 1
    # A face far smaller than the speaker's (in the background) is no second person.
    (alone,) = plan(_two_faces(big=240, small=50), 10.0).shots
    assert (alone.mode, alone.reason) == ("CROP", "face")


def test_each_shot_is_framed_on_its_own() -> None:
    centres = [300.0] * 15 + [1000.0] * 15
    path = plan(track(centres, cuts=(5.0,)), 10.0)
    assert [(s.start, s.end) for s in path.shots] == [(0.0, 5.0), (5.0, 10.0)]
    # Still in each shot, and the crop jumps at the cut, without a glide.
    assert abs(crop_centre(path, 4.99) - 300) < 1
    assert abs(crop_centre(path, 5.0) - 1000) < 1
    assert all(len(set(s.points[i][1] for i in range(len(s.points)))) == 1 for s in path.shots)


def test_shot_bounds_drop_cuts_too_close_together() -> None:
    assert shot_bounds([0.2, 3.0, 3.3, 9.8], 10.0, 0.5) == [(0.0, 3.0), (3.0, 10.0)]
    assert shot_bounds([], 4.0, 0.5) == [(0.0, 4.0)]


def test_a_portrait_source_is_followed_vertically() -> None:
    samples = tuple(Sample(i / RATE, (face_at(360, 200, cy=300),)) for i in range(30))
    path = plan_path(FaceTrack(samples, (), "haar"), 10.0, 720, 1280, 720, 720)
    assert path.axis == "y"
    assert path.fixed_offset == 0
    assert path.offset_at(5.0) == 0  # the face is high: the crop is clamped at the top
    graph = framing_graph(path)
    assert "crop=w=720:h=720:x=0:y='" in graph


def _evaluate(expression: str, t: float) -> float:
    """FFmpeg's expression, evaluated with its functions' meanings (a Python-compatible
    subset: numbers, + - * /, parentheses, clip, gte)."""
    names = {"t": t, "clip": lambda v, lo, hi: min(max(v, lo), hi), "gte": lambda a, b: a >= b}
    return float(eval(expression, {"__builtins__": {}}, names))


@pytest.mark.parametrize("cuts", [(), (4.0,), (2.0, 6.0)])
def test_the_ffmpeg_expression_follows_the_path(cuts: tuple[float, ...]) -> None:
    rng = random.Random(3)
    centres = [300 + 80 * i / RATE + rng.uniform(-5, 5) for i in range(24)]
    path = plan(track(centres, cuts=cuts), 8.0)
    expression = offset_expression(path)
    for k in range(round(8.0 * FPS)):
        t = k / FPS
        assert abs(_evaluate(expression, t) - path.offset_at(t)) < 0.01, t


def test_graphs_by_shot_modes() -> None:
    crop = plan(track([500.0] * 30), 10.0)
    assert framing_graph(crop).startswith("[0:v:0]crop=w=404:h=720:x='")
    whole = fit_blur_path(SRC_W, SRC_H, CROP_W, CROP_H, 10.0)
    assert "boxblur" in framing_graph(whole)
    assert "crop=w=" not in framing_graph(whole)
    mixed = CropPath(
        "x",
        CROP_W,
        CROP_H,
        0,
        (
            Shot(0.0, 5.0, "CROP", "face", ((0.0, 100.0), (5.0, 100.0))),
            Shot(5.0, 10.0, "FIT_BLUR", "faces", ((5.0, 438.0), (10.0, 438.0))),
        ),
    )
    graph = framing_graph(mixed)
    assert "overlay=x=0:y=0:enable='gte(t,5)*lt(t,1000000000)'" in graph


def test_a_face_leaving_in_the_last_second_of_a_shot_is_followed() -> None:
    # Still for 4 s, then 150 px/s until the shot ends at 5 s: the move cannot last the
    # full settle time inside the shot, but holding would lose the face.
    def where(t: float) -> float:
        return 600 + 150 * max(0.0, t - 4.0)

    path = plan(track(centres_over(5.0, where)), 5.0)
    assert abs(crop_centre(path, 2.0) - 600) < 1
    assert abs(crop_centre(path, 4.9) - where(4.9)) < CROP_W / 6
