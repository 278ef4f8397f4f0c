"""render_clip on videos with a real face (tests/reframe/videos.py), with real FFmpeg and the
real detector; the results are looked at with the same detector."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import time
from pathlib import Path

import cv2
import pytest

from editai.media.binaries import Binaries
from editai.media.ffmpeg import run_ffmpeg
from editai.media.filter_scripts import with_filter_script
from editai.media.render import output_size
from editai.reframe.detect import detect_faces
from editai.reframe.model_files import yunet_model_path
from editai.reframe.path import CropPath, Shot
from editai.reframe.render import Framing, build_framed_args, render_clip
from tests.processes import ProcessExit, process_alive
from tests.reframe import frames, videos
from tests.reframe.children import children_running

W, H = output_size(videos.WIDTH, videos.HEIGHT, "R9_16")  # 202 x 360
SECONDS = videos.SECONDS
SAMPLE_FPS = 10.0


async def render(
    binaries: Binaries,
    source: Path,
    folder: Path,
    name: str,
    reframe: str = "FACE",
    layout: str = "CROP",
    multiple_faces: str = "FIT_BLUR",
    progress: list[float] | None = None,
) -> tuple[Path, Framing]:
    out = folder / f"{name}.mp4"

    async def record(value: float) -> None:
        if progress is not None:
            progress.append(value)

    framing = await render_clip(
        binaries, source, out, 0.0, SECONDS, "R9_16", reframe, layout, multiple_faces,
        videos.WIDTH, videos.HEIGHT, float(videos.FPS), record, folder,
    )  # fmt: skip
    return out, framing


async def assert_exact_length(binaries: Binaries, path: Path) -> None:
    video, audio, fps = await frames.durations(binaries, path)
    assert abs(video - SECONDS) <= 1 / fps + 1e-6, video
    assert abs(audio - SECONDS) <= 1 / fps + 0.03, audio  # one AAC frame of slack


async def test_a_face_crop_keeps_a_moving_face_in_the_middle_third(
    binaries: Binaries, face_videos: dict[str, Path], tmp_path: Path
) -> None:
    progress: list[float] = []
    source = face_videos[videos.MOVING.name]
    (face, framing), (centre, _) = await asyncio.gather(
        render(binaries, source, tmp_path, "face", progress=progress),
        render(binaries, source, tmp_path, "centre", reframe="CENTER"),
    )
    assert framing.detector == "yunet"
    assert framing.path is not None
    assert [s.reason for s in framing.path.shots] == ["face"]
    face_share = frames.share_in_middle_third(
        frames.face_centres_x(await frames.frames(binaries, face, SAMPLE_FPS, W, H, tmp_path)), W
    )
    centre_share = frames.share_in_middle_third(
        frames.face_centres_x(await frames.frames(binaries, centre, SAMPLE_FPS, W, H, tmp_path)),
        W,
    )
    print(f"\nface in the middle third: FACE {face_share:.0%}, CENTER {centre_share:.0%}")
    assert face_share >= 0.95
    assert centre_share < 0.95
    await assert_exact_length(binaries, face)
    await assert_exact_length(binaries, centre)
    # Detection reported, then the encode, up to 1.
    assert progress == sorted(progress)
    assert progress[-1] == 1.0
    assert any(0 < p < 0.4 for p in progress)


async def test_a_still_face_gives_a_still_crop(
    binaries: Binaries, face_videos: dict[str, Path], tmp_path: Path
) -> None:
    out, framing = await render(binaries, face_videos[videos.STILL.name], tmp_path, "still")
    assert framing.path is not None
    (shot,) = framing.path.shots
    assert shot.mode == "CROP"
    assert len({offset for _, offset in shot.points}) == 1
    # The face sits at 35 % of the source: aimed at, not centred.
    assert abs(shot.points[0][1] + W / 2 - 0.35 * videos.WIDTH) < 0.05 * W
    images = await frames.frames(binaries, out, 4.0, W, H, tmp_path)
    # The picture is still, so a still crop shows the face at one place in every frame,
    # and frames differ only by x264's noise (a 2 px move of the crop differs by far more).
    centres = frames.face_centres_x(images)
    assert None not in centres
    assert max(c for c in centres if c is not None) - min(c for c in centres if c) < 1.5
    noise = max(frames.mean_abs_diff(a, b) for a, b in itertools.pairwise(images))
    moved = frames.mean_abs_diff(images[0][:, 2:], images[0][:, :-2])
    print(f"\nstill crop: frame noise {noise:.2f}, a 2 px move {moved:.2f}")
    assert noise * 2 < moved, (noise, moved)
    await assert_exact_length(binaries, out)


async def test_two_faces_fall_back_to_fit_blur_or_the_largest_face(
    binaries: Binaries, face_videos: dict[str, Path], tmp_path: Path
) -> None:
    source = face_videos[videos.TWO.name]
    (blurred, framing), (largest, largest_framing) = await asyncio.gather(
        render(binaries, source, tmp_path, "two"),
        render(binaries, source, tmp_path, "largest", multiple_faces="LARGEST_FACE"),
    )
    assert framing.path is not None
    assert [s.mode for s in framing.path.shots] == ["FIT_BLUR"]
    image = (await frames.frames(binaries, blurred, 1.0, W, H, tmp_path))[3]
    # The whole source shows (both faces, side by side) between two blurred bands.
    model = yunet_model_path()
    assert model is not None
    found = frames.face_centres_all(image)
    assert len(found) == 2, found
    sharpness = [
        cv2.Laplacian(frames.gray(image)[a:b], cv2.CV_64F).var()
        for a, b in ((0, 100), (130, 230), (260, 360))
    ]
    assert sharpness[0] * 20 < sharpness[1], sharpness
    assert sharpness[2] * 20 < sharpness[1], sharpness
    await assert_exact_length(binaries, blurred)

    assert largest_framing.path is not None
    assert [(s.mode, s.reason) for s in largest_framing.path.shots] == [("CROP", "largest_face")]
    centres = frames.face_centres_x(await frames.frames(binaries, largest, 2.0, W, H, tmp_path))
    assert frames.share_in_middle_third(centres, W) == 1.0


async def test_no_face_keeps_the_centred_crop(
    binaries: Binaries, face_videos: dict[str, Path], tmp_path: Path
) -> None:
    source = face_videos[videos.NONE.name]
    (face, framing), (centre, _) = await asyncio.gather(
        render(binaries, source, tmp_path, "none-face"),
        render(binaries, source, tmp_path, "none-centre", reframe="CENTER"),
    )
    assert framing.path is not None
    assert [(s.mode, s.reason) for s in framing.path.shots] == [("CROP", "no_face")]
    assert framing.path.offset_at(0.0) == (videos.WIDTH - W) // 2
    pairs = zip(
        await frames.frames(binaries, face, 2.0, W, H, tmp_path),
        await frames.frames(binaries, centre, 2.0, W, H, tmp_path),
        strict=True,
    )
    assert max(frames.mean_abs_diff(a, b) for a, b in pairs) < 1.0
    await assert_exact_length(binaries, face)


async def test_each_shot_is_framed_on_its_own(
    binaries: Binaries, face_videos: dict[str, Path], tmp_path: Path
) -> None:
    out, framing = await render(binaries, face_videos[videos.SHOTS.name], tmp_path, "shots")
    assert framing.path is not None
    shots = framing.path.shots
    assert [round(s.start, 1) for s in shots] == [0.0, videos.CUT_AT]
    for shot, where in zip(shots, (0.25, 0.75), strict=True):
        assert len({offset for _, offset in shot.points}) == 1  # still within the shot
        assert abs(shot.points[0][1] + W / 2 - where * videos.WIDTH) < 0.05 * W
    centres = frames.face_centres_x(await frames.frames(binaries, out, SAMPLE_FPS, W, H, tmp_path))
    assert frames.share_in_middle_third(centres, W) >= 0.95


async def test_layout_fit_blur_shows_the_whole_frame(
    binaries: Binaries, face_videos: dict[str, Path], tmp_path: Path
) -> None:
    out, framing = await render(
        binaries, face_videos[videos.TWO.name], tmp_path, "layout", "CENTER", "FIT_BLUR"
    )
    assert framing.detector is None  # nothing to detect
    assert framing.path is not None
    assert [s.mode for s in framing.path.shots] == ["FIT_BLUR"]
    image = (await frames.frames(binaries, out, 1.0, W, H, tmp_path))[2]
    assert len(frames.face_centres_all(image)) == 2
    await assert_exact_length(binaries, out)


async def test_a_model_failing_its_checksum_falls_back_to_haar(
    binaries: Binaries, face_videos: dict[str, Path], tmp_path: Path
) -> None:
    model = yunet_model_path()
    assert model is not None
    tampered = tmp_path / "yunet.onnx"
    shutil.copyfile(model, tampered)
    with tampered.open("ab") as handle:
        handle.write(b"\0")
    track = await detect_faces(
        binaries, face_videos[videos.STILL.name], 0.0, 2.0, videos.WIDTH, videos.HEIGHT,
        tmp_path, model=tampered,
    )  # fmt: skip
    assert track.detector == "haar"
    found = [s for s in track.samples if s.faces]
    assert len(found) >= 0.9 * len(track.samples)
    assert all(abs(s.faces[0].centre_x - 0.35 * videos.WIDTH) < 20 for s in found)
    untouched = await detect_faces(
        binaries, face_videos[videos.STILL.name], 0.0, 2.0, videos.WIDTH, videos.HEIGHT, tmp_path
    )
    assert untouched.detector == "yunet"


async def test_cancelling_detection_stops_ffmpeg_and_the_detector_within_a_second(
    binaries: Binaries, face_videos: dict[str, Path], tmp_path: Path
) -> None:
    started = asyncio.Event()

    async def on_progress(value: float) -> None:
        started.set()

    # Sampled at 30 fps, detection of the 6 s clip takes a few seconds: long enough.
    task = asyncio.create_task(
        detect_faces(
            binaries, face_videos[videos.MOVING.name], 0.0, SECONDS, videos.WIDTH,
            videos.HEIGHT, tmp_path, on_progress, sample_fps=30.0,
        )
    )  # fmt: skip
    await asyncio.wait_for(started.wait(), 30)
    pids = children_running("editai.reframe.faces") + [
        pid for pid in children_running(binaries.ffmpeg) if process_alive(pid)
    ]
    assert len(pids) == 2, pids
    watches = [ProcessExit(pid) for pid in pids]
    sent = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    exits = [await watch.wait(5) for watch in watches]
    assert max(exits) - sent < 1.0
    assert not [p for p in os.listdir(tmp_path) if p.startswith("reframe-cuts-")]


async def test_a_window_later_in_the_source_is_followed_on_its_own_clock(
    binaries: Binaries, face_videos: dict[str, Path], tmp_path: Path
) -> None:
    # From 1.5 s: the path's times must be clip times (the crop's ``t`` starts at 0 there).
    out = tmp_path / "later.mp4"
    framing = await render_clip(
        binaries, face_videos[videos.MOVING.name], out, 1.5, 4.0, "R9_16", "FACE", "CROP",
        "FIT_BLUR", videos.WIDTH, videos.HEIGHT, float(videos.FPS), None, tmp_path,
    )  # fmt: skip
    assert framing.path is not None
    # Held on the middle of the source from 2 s to 4 s of the source: 0.5 s to 2.5 s here.
    assert abs(framing.path.offset_at(1.5) + W / 2 - videos.MIDDLE) < 3
    centres = frames.face_centres_x(await frames.frames(binaries, out, SAMPLE_FPS, W, H, tmp_path))
    assert frames.share_in_middle_third(centres, W) >= 0.95
    video, _, fps = await frames.durations(binaries, out)
    assert abs(video - 4.0) <= 1 / fps + 1e-6


async def test_a_long_path_goes_through_a_filter_script(
    binaries: Binaries, face_videos: dict[str, Path], tmp_path: Path
) -> None:
    # A zigzag of 1200 points: an expression far longer than a command line should carry.
    points = tuple((k * SECONDS / 1199, float((k % 2) * 40 + 100)) for k in range(1200))
    path = CropPath("x", W, H, 0, (Shot(0.0, SECONDS, "CROP", "face", points),))
    out = tmp_path / "long-path.mp4"
    args = with_filter_script(
        build_framed_args(face_videos[videos.STILL.name], out, 0.0, SECONDS, path, 30.0),
        tmp_path,
    )
    assert "-filter_complex_script" in args
    await run_ffmpeg(binaries, args)
    video, _, fps = await frames.durations(binaries, out)
    assert abs(video - SECONDS) <= 1 / fps + 1e-6
