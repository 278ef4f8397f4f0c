"""export_clip: size, codecs, faststart, loudness, burned-in text and muted ranges,
each measured on the output file."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from editai.media.binaries import Binaries
from editai.media.export import export_clip, export_size
from editai.media.export_audio import parse_loudnorm_json
from editai.media.export_text import MAX_SUBTITLE_CHARS, clean_subtitle_text, wrap_subtitle
from editai.media.fonts import find_font_file
from tests.media import measure

NASTY_TEXT = "It's \"50%\" off: C:\\path\\ %{pts} [x];, 'q' \\n %% end"


def test_export_size_keeps_aspect_with_even_width() -> None:
    assert export_size(640, 360, 180) == (320, 180)
    assert export_size(1920, 1080, 720) == (1280, 720)
    assert export_size(1080, 1920, 640) == (360, 640)
    assert export_size(641, 360, 180) == (320, 180)
    rng = random.Random(11)
    for _ in range(2000):
        sw, sh, h = rng.randint(16, 4000), rng.randint(16, 4000), 2 * rng.randint(72, 1080)
        w, out_h = export_size(sw, sh, h)
        assert out_h == h
        assert w % 2 == 0
        assert w >= 2
        assert abs(w - sw * h / sh) <= 1.0 or w == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"height": 143}, "between 144 and 2160"),
        ({"height": 2162}, "between 144 and 2160"),
        ({"height": 145}, "even"),
        ({"height": 180.0}, "whole number"),
        ({"mute_ranges": [(-0.5, 1.0)]}, "within the clip"),
        ({"mute_ranges": [(1.0, 7.0)]}, "within the clip"),
        ({"mute_ranges": [(2.0, 1.0)]}, "end after it starts"),
        ({"mute_ranges": [(1.0, 1.0)]}, "end after it starts"),
        ({"mute_ranges": [(3.0, 4.0), (1.0, 2.0)]}, "after the previous range"),
        ({"mute_ranges": [(1.0, 3.0), (2.5, 4.0)]}, "after the previous range"),
        ({"mute_ranges": [(1.0, float("nan"))]}, "finite"),
        ({"subtitle_text": "x" * (MAX_SUBTITLE_CHARS + 1)}, "longer than"),
        ({"loudness_target": -80.0}, "loudness target"),
        ({"duration": 0.0}, "duration"),
    ],
)
async def test_invalid_inputs_are_refused_before_any_work(
    binaries: Binaries,
    media: dict[str, Path],
    tmp_path: Path,
    kwargs: dict[str, Any],
    message: str,
) -> None:
    args: dict[str, Any] = {
        "height": 180,
        "subtitle_text": None,
        "mute_ranges": [],
        "duration": 6.0,
    }
    args.update(kwargs)
    out = tmp_path / "never.mp4"
    with pytest.raises(ValueError, match=message):
        await export_clip(binaries, media["quiet_tone"], out, **args)
    assert not out.exists()


def test_subtitle_text_cleaning_and_wrapping() -> None:
    assert clean_subtitle_text("  \n\t ") is None
    assert clean_subtitle_text("a\x00b\tc\r\nd ") == "a b c\nd"
    lines = wrap_subtitle("word " * 60, 320, 12)
    assert len(lines) == 3
    assert lines[-1].endswith("…")
    assert wrap_subtitle("one\ntwo", 640, 22) == ["one", "two"]


def test_loudnorm_json_is_found_in_stderr() -> None:
    lines = [
        "[Parsed_loudnorm_0 @ 0x1] ",
        "{",
        '\t"input_i" : "-41.81",',
        '\t"input_tp" : "-37.33",',
        '\t"input_lra" : "0.10",',
        '\t"input_thresh" : "-51.81",',
        '\t"output_i" : "-14.00",',
        '\t"target_offset" : "-0.01"',
        "}",
        "[out#0/null @ 0x2] video:0kB audio:1kB",
    ]
    m = parse_loudnorm_json(lines)
    assert (m.input_i, m.input_tp, m.target_offset) == (-41.81, -37.33, -0.01)
    silent = parse_loudnorm_json([*lines[:2], '"input_i" : "-inf",', *lines[3:]])
    assert not silent.audible
    with pytest.raises(ValueError, match="no measurement"):
        parse_loudnorm_json(["nothing here"])


@pytest.mark.parametrize(
    ("video", "target", "height", "size"),
    [
        ("quiet_tone", -14.0, 144, (256, 144)),  # about -42 LUFS in: +28 dB
        ("loud_noise", -14.0, 180, (320, 180)),  # about -3 LUFS in: -11 dB
        ("scenes", -14.0, 360, (640, 360)),  # varying level with a silence
        ("loud_noise", -23.0, 240, (426, 240)),
    ],
)
async def test_export_normalizes_loudness_scales_and_puts_moov_first(
    binaries: Binaries,
    media: dict[str, Path],
    tmp_path: Path,
    video: str,
    target: float,
    height: int,
    size: tuple[int, int],
) -> None:
    source = media[video]
    before = await measure.integrated_loudness(binaries, source)
    assert abs(before - target) > 5  # the input really needs correcting
    fmt, _ = await measure.streams(binaries, source)
    duration = float(fmt["duration"])
    out = tmp_path / "export.mp4"
    seen: list[float] = []

    async def progress(value: float) -> None:
        seen.append(value)

    await export_clip(
        binaries, source, out, height=height, loudness_target=target, subtitle_text=None,
        mute_ranges=[], duration=duration, on_progress=progress, preset="ultrafast",
    )  # fmt: skip

    after = await measure.integrated_loudness(binaries, out)
    assert abs(after - target) <= 1.5, (before, after)
    fmt, streams = await measure.streams(binaries, out)
    v = next(s for s in streams if s["codec_type"] == "video")
    a = next(s for s in streams if s["codec_type"] == "audio")
    assert (v["codec_name"], a["codec_name"]) == ("h264", "aac")
    assert (v["width"], v["height"]) == size
    assert v["pix_fmt"] == "yuv420p"
    assert int(a["sample_rate"]) == 48000
    _, source_streams = await measure.streams(binaries, source)
    source_audio = next(s for s in source_streams if s["codec_type"] == "audio")
    assert a["channels"] == source_audio["channels"] == (2 if video == "loud_noise" else 1)
    assert abs(float(fmt["duration"]) - duration) <= 0.05
    boxes = measure.top_level_boxes(out)
    assert "moov" in boxes
    assert "mdat" in boxes
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    assert seen[-1] == 1.0
    assert seen == sorted(seen)


async def test_mute_ranges_are_silent_and_the_rest_is_not(
    binaries: Binaries, media: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "muted.mp4"
    await export_clip(
        binaries, media["still"], out, height=180, subtitle_text=None,
        mute_ranges=[(0.5, 1.2), (2.0, 3.0)], duration=4.0, preset="ultrafast",
    )  # fmt: skip
    # Inside the ranges (a frame of margin for AAC's overlapping windows): silence.
    assert await measure.max_volume(binaries, out, 0.55, 0.6) <= -80
    assert await measure.max_volume(binaries, out, 2.05, 0.9) <= -80
    # Outside: the tone, normalized.
    for start, seconds in ((0.0, 0.45), (1.25, 0.7), (3.05, 0.9)):
        assert await measure.max_volume(binaries, out, start, seconds) > -20
    assert abs(await measure.integrated_loudness(binaries, out) + 14.0) <= 1.5


async def test_subtitles_are_burned_in_literally_at_the_bottom(
    binaries: Binaries, media: dict[str, Path], tmp_path: Path
) -> None:
    assert find_font_file() is not None
    plain, titled = tmp_path / "plain.mp4", tmp_path / "titled.mp4"
    for out, text in ((plain, None), (titled, NASTY_TEXT)):
        await export_clip(
            binaries, media["still"], out, height=180, subtitle_text=text,
            mute_ranges=[], duration=4.0, work_dir=tmp_path, preset="ultrafast",
        )  # fmt: skip
    assert measure.names_in(tmp_path) == ["plain.mp4", "titled.mp4"]  # text files removed
    w, h = 320, 180
    without = await measure.gray_frame(binaries, plain, 1.0, w, h, tmp_path)
    with_text = await measure.gray_frame(binaries, titled, 1.0, w, h, tmp_path)
    bottom, top = range(h * 2 // 3, h), range(0, h // 2)
    assert measure.region_diff(without, with_text, w, bottom) > 15
    assert measure.region_diff(without, with_text, w, top) < 1
    # "%{pts}" is drawn as typed, not expanded: the text is the same at 0.5 s and 3 s.
    early = await measure.gray_frame(binaries, titled, 0.5, w, h, tmp_path)
    late = await measure.gray_frame(binaries, titled, 3.0, w, h, tmp_path)
    assert measure.region_diff(early, late, w, bottom) < 1


async def test_source_without_audio_exports_video_only(
    binaries: Binaries, media: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "video-only.mp4"
    await export_clip(
        binaries, media["no_audio"], out, height=144, subtitle_text="hello",
        mute_ranges=[(1.0, 2.0)], duration=4.0, preset="ultrafast",
    )  # fmt: skip
    fmt, streams = await measure.streams(binaries, out)
    assert [s["codec_type"] for s in streams] == ["video"]
    assert (streams[0]["width"], streams[0]["height"]) == (256, 144)
    assert abs(float(fmt["duration"]) - 4.0) <= 0.05
