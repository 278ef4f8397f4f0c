"""cut_clip and output_size: frame sizes, durations, codecs and content of real cuts."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from editai.media.binaries import Binaries
from editai.media.render import ASPECT_RATIOS, crop_box, cut_clip, output_size
from tests.media import measure, videos

FRAME = 1 / videos.FPS
RATIOS = {k: v for k, v in ASPECT_RATIOS.items() if v is not None}


@pytest.mark.parametrize(
    ("src", "aspect", "expected"),
    [
        ((640, 360), "SOURCE", (640, 360)),
        ((640, 360), "R9_16", (202, 360)),
        ((640, 360), "R1_1", (360, 360)),
        ((640, 360), "R16_9", (640, 360)),
        ((1920, 1080), "R9_16", (606, 1080)),
        ((1080, 1920), "R16_9", (1080, 606)),
        ((1080, 1920), "R9_16", (1080, 1920)),
        ((1080, 1920), "R1_1", (1080, 1080)),
        ((321, 181), "SOURCE", (320, 180)),
        ((1440, 1080), "R16_9", (1440, 810)),
    ],
)
def test_output_size_table(src: tuple[int, int], aspect: str, expected: tuple[int, int]) -> None:
    assert output_size(*src, aspect) == expected


def test_output_size_is_the_largest_even_centred_crop() -> None:
    rng = random.Random(3)
    for _ in range(2000):
        sw, sh = rng.randint(2, 4000), rng.randint(2, 4000)
        for aspect, (rw, rh) in RATIOS.items():
            w, h = output_size(sw, sh, aspect)
            assert w % 2 == 0
            assert h % 2 == 0
            assert 2 <= w <= sw
            assert 2 <= h <= sh
            # One side uses the whole (even) source side ...
            assert w == max(2, sw - sw % 2) or h == max(2, sh - sh % 2)
            # ... the other is the target ratio of it, rounded down to even (< 2 px + floor).
            if w == sw - sw % 2 and sw * rh < sh * rw:
                assert (sw * rh // rw) - 2 < h <= sw * rh // rw or h == 2
            else:
                assert (sh * rw // rh) - 2 < w <= sh * rw // rh or w == 2
            bw, bh, x, y = crop_box(sw, sh, aspect)
            assert (bw, bh) == (w, h)
            assert (x, y) == ((sw - w) // 2, (sh - h) // 2)


def test_unknown_aspect_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown aspect"):
        output_size(640, 360, "R4_3")


def _is_red(rgb: tuple[float, float, float]) -> bool:
    r, g, b = rgb
    return r > 180 and g < 60 and b < 60


async def _facts(
    binaries: Binaries, path: Path
) -> tuple[float, dict[str, Any], dict[str, Any] | None]:
    fmt, streams = await measure.streams(binaries, path)
    video = next(s for s in streams if s["codec_type"] == "video")
    audio = next((s for s in streams if s["codec_type"] == "audio"), None)
    return float(fmt["duration"]), video, audio


async def test_accurate_cut_starts_on_time_and_lasts_exactly(
    binaries: Binaries, media: dict[str, Path], tmp_path: Path
) -> None:
    # The source turns from red to testsrc2 at 3.0 s: a cut from 2.0 s is red for 1 s.
    out = tmp_path / "accurate.mp4"
    seen: list[float] = []

    async def progress(value: float) -> None:
        seen.append(value)

    await cut_clip(
        binaries, media["scenes"], out, 2.0, 2.0, "SOURCE", True, 640, 360, 25.0,
        progress, preset="ultrafast",
    )  # fmt: skip
    duration, video, audio = await _facts(binaries, out)
    assert abs(duration - 2.0) <= FRAME
    assert abs(float(video["duration"]) - 2.0) <= FRAME
    assert int(video["nb_frames"]) == 50
    assert (video["width"], video["height"]) == (640, 360)
    assert video["profile"] != "High"  # re-encoded (the source is High profile)
    assert audio is not None
    assert abs(float(audio["duration"]) - 2.0) <= FRAME
    assert _is_red(await measure.mean_rgb(binaries, out, 0.9, tmp_path))
    assert not _is_red(await measure.mean_rgb(binaries, out, 1.1, tmp_path))
    assert seen
    assert seen[-1] == 1.0
    assert seen == sorted(seen)


@pytest.mark.parametrize(("start", "seconds"), [(0.0, 1.0), (2.52, 1.36), (6.04, 2.96)])
async def test_accurate_cut_duration_within_one_frame(
    binaries: Binaries, media: dict[str, Path], tmp_path: Path, start: float, seconds: float
) -> None:
    out = tmp_path / "cut.mp4"
    await cut_clip(
        binaries, media["scenes"], out, start, seconds, "SOURCE", True, 640, 360, 25.0,
        preset="ultrafast",
    )  # fmt: skip
    duration, video, _ = await _facts(binaries, out)
    assert abs(duration - seconds) <= FRAME
    assert abs(float(video["duration"]) - seconds) <= FRAME


@pytest.mark.parametrize(
    ("aspect", "accurate", "size"),
    [
        ("R9_16", False, (202, 360)),
        ("R9_16", True, (202, 360)),
        ("R1_1", False, (360, 360)),
        ("R16_9", False, (640, 360)),
    ],
)
async def test_aspect_changes_crop_to_the_exact_size(
    binaries: Binaries,
    media: dict[str, Path],
    tmp_path: Path,
    aspect: str,
    accurate: bool,
    size: tuple[int, int],
) -> None:
    out = tmp_path / f"{aspect}.mp4"
    await cut_clip(
        binaries, media["scenes"], out, 3.5, 2.0, aspect, accurate, 640, 360, 25.0,
        preset="ultrafast",
    )  # fmt: skip
    duration, video, audio = await _facts(binaries, out)
    assert (video["width"], video["height"]) == size
    assert video.get("sample_aspect_ratio", "1:1") in ("1:1", "0:1")
    assert video["profile"] != "High"  # aspect changes always re-encode
    assert abs(duration - 2.0) <= FRAME
    assert audio is not None
    assert audio["codec_name"] == "aac"


async def test_centre_crop_keeps_the_middle(
    binaries: Binaries, media: dict[str, Path], tmp_path: Path
) -> None:
    """SMPTE bars: a 9:16 crop of the centre shows only the middle bars."""
    full = tmp_path / "full.mp4"
    tall = tmp_path / "tall.mp4"
    for out, aspect in ((full, "SOURCE"), (tall, "R9_16")):
        await cut_clip(
            binaries, media["scenes"], out, 7.0, 1.0, aspect, True, 640, 360, 25.0,
            preset="ultrafast",
        )  # fmt: skip
    whole = await measure.gray_frame(binaries, full, 0.5, 640, 360, tmp_path)
    crop = await measure.gray_frame(binaries, tall, 0.5, 202, 360, tmp_path)
    x0 = (640 - 202) // 2
    expected = bytes(whole[row * 640 + x0 + col] for row in range(360) for col in range(202))
    diff = sum(abs(a - b) for a, b in zip(crop, expected, strict=True)) / len(crop)
    shifted = bytes(whole[row * 640 + col] for row in range(360) for col in range(202))
    off = sum(abs(a - b) for a, b in zip(crop, shifted, strict=True)) / len(crop)
    assert diff < 3, diff
    assert off > 10, off


async def test_fast_cut_copies_the_streams(
    binaries: Binaries, media: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "fast.mp4"
    await cut_clip(binaries, media["scenes"], out, 2.5, 2.0, "SOURCE", False, 640, 360, 25.0)
    duration, video, audio = await _facts(binaries, out)
    src_video = await measure.stream_of(binaries, media["scenes"], "video")
    assert src_video is not None
    # Same encoder settings/profile and frame size: not re-encoded.
    assert video["profile"] == src_video["profile"] == "High"
    assert (video["width"], video["height"]) == (640, 360)
    assert audio is not None
    # Starts at the keyframe at or before 2.5 s (one per second in the source).
    assert 2.0 - FRAME <= duration <= 2.0 + 1.0 + FRAME
    assert _is_red(await measure.mean_rgb(binaries, out, 0.1, tmp_path))  # source 2-3 s


async def test_source_without_audio_gives_a_clip_without_audio(
    binaries: Binaries, media: dict[str, Path], tmp_path: Path
) -> None:
    for accurate in (True, False):
        out = tmp_path / f"silent-{accurate}.mp4"
        await cut_clip(
            binaries, media["no_audio"], out, 1.0, 2.0, "SOURCE", accurate, 320, 180, 25.0,
            preset="ultrafast",
        )  # fmt: skip
        duration, video, audio = await _facts(binaries, out)
        assert audio is None
        assert (video["width"], video["height"]) == (320, 180)
        assert abs(duration - 2.0) <= (FRAME if accurate else 1.0 + FRAME)


@pytest.mark.parametrize(
    ("start", "seconds", "aspect", "message"),
    [(-1.0, 2.0, "SOURCE", "start"), (1.0, 0.0, "SOURCE", "length"), (1.0, 2.0, "4:3", "aspect")],
)
async def test_invalid_arguments_are_refused(
    binaries: Binaries,
    media: dict[str, Path],
    tmp_path: Path,
    start: float,
    seconds: float,
    aspect: str,
    message: str,
) -> None:
    out = tmp_path / "never.mp4"
    with pytest.raises(ValueError, match=message):
        await cut_clip(binaries, media["scenes"], out, start, seconds, aspect, True, 640, 360, 25)
    assert not out.exists()
