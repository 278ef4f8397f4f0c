"""analyze() on generated videos whose scene changes and silences are known."""

from __future__ import annotations

from pathlib import Path

import pytest

from editai.media.analysis import (
    SpanScore,
    analyze,
    parse_audio,
    parse_metadata_print,
    speech_silence_spans,
)
from editai.media.binaries import Binaries
from editai.media.windows import choose_windows
from tests.media import videos

FRAME = 1 / videos.FPS
AUDIO_TOL = 0.05  # silencedetect works on samples; the test audio's gain steps per 1024


def _kind(spans: list[SpanScore], kind: str) -> list[SpanScore]:
    return [s for s in spans if s.kind == kind]


async def test_scenes_speech_and_silence_are_found(
    binaries: Binaries, media: dict[str, Path], tmp_path: Path
) -> None:
    spec = videos.SCENES
    seen: list[float] = []

    async def progress(value: float) -> None:
        seen.append(value)

    spans = await analyze(binaries, media[spec.name], spec.duration, progress, work_dir=tmp_path)

    scenes = _kind(spans, "SCENE")
    bounds = [0.0, *spec.scene_changes, spec.duration]
    assert len(scenes) == len(bounds) - 1
    for span, start, end in zip(scenes, bounds, bounds[1:], strict=False):
        assert span.start == pytest.approx(start, abs=FRAME)
        assert span.end == pytest.approx(end, abs=FRAME)
    assert scenes[0].start == 0.0
    assert scenes[-1].end == spec.duration

    silences = _kind(spans, "SILENCE")
    assert [(s.start, s.end) for s in silences] == [
        pytest.approx(pair, abs=AUDIO_TOL) for pair in spec.silences
    ]
    speech = _kind(spans, "SPEECH")
    assert [(s.start, s.end) for s in speech] == [
        pytest.approx((0.0, 2.0), abs=AUDIO_TOL),
        pytest.approx((4.5, 9.0), abs=AUDIO_TOL),
    ]
    assert all(0.0 <= s.score <= 1.0 for s in spans)
    # The second stretch is 12 dB louder (and longer) than the first.
    assert speech[1].score > speech[0].score + 0.3
    assert max(s.score for s in silences) < min(s.score for s in speech)
    assert max(s.score for s in silences) <= 0.1

    assert seen
    assert seen[-1] == 1.0
    assert seen == sorted(seen)
    assert (tmp_path / "analysis-scenes.txt").is_file()
    assert (tmp_path / "analysis-audio.txt").is_file()


async def test_video_without_audio_has_scenes_only(
    binaries: Binaries, media: dict[str, Path]
) -> None:
    spec = videos.NO_AUDIO
    spans = await analyze(binaries, media[spec.name], spec.duration)
    assert {s.kind for s in spans} == {"SCENE"}
    assert [(s.start, s.end) for s in spans] == [
        pytest.approx((0.0, 2.0), abs=FRAME),
        pytest.approx((2.0, 4.0), abs=FRAME),
    ]
    # Without audio a scene's score is its cut strength: 0.5 for the opening scene.
    assert spans[0].score == 0.5
    assert 0.0 < spans[1].score <= 1.0


async def test_work_dir_with_filter_syntax_in_its_name(
    binaries: Binaries, media: dict[str, Path], tmp_path: Path
) -> None:
    """Paths reach the filter graph escaped: quotes, colons, commas, brackets are fine."""
    odd = tmp_path / "it's: a, [dir]; 100% \\ x"
    odd.mkdir()
    spec = videos.SCENES
    plain = await analyze(binaries, media[spec.name], spec.duration)
    spans = await analyze(binaries, media[spec.name], spec.duration, work_dir=odd)
    assert spans == plain
    assert sorted(p.name for p in odd.iterdir()) == ["analysis-audio.txt", "analysis-scenes.txt"]


async def test_windows_from_real_spans_start_on_a_boundary_outside_silence(
    binaries: Binaries, media: dict[str, Path]
) -> None:
    spec = videos.SCENES
    spans = await analyze(binaries, media[spec.name], spec.duration)
    windows = choose_windows(spec.duration, 2.0, 3, spans)
    starts = {s.start for s in spans if s.kind != "SILENCE"}
    assert windows[0].start in starts
    silence = _kind(spans, "SILENCE")[0]
    assert windows[0].end <= silence.start or windows[0].start >= silence.end


def test_parse_audio_handles_end_and_start_in_one_frame_and_open_silence() -> None:
    text = """frame:0    pts:0       pts_time:0
lavfi.astats.Overall.RMS_level=-20.0
lavfi.silence_start=0.25
frame:1    pts:1600    pts_time:1.0
lavfi.astats.Overall.RMS_level=-inf
lavfi.silence_start=1.05
lavfi.silence_end=0.9
lavfi.silence_duration=0.65
frame:2    pts:3200    pts_time:2.0
lavfi.astats.Overall.RMS_level=-25.5
"""
    frames = parse_metadata_print(text)
    assert [t for t, _ in frames] == [0.0, 1.0, 2.0]
    silences, levels = parse_audio(frames)
    assert silences == [(0.25, 0.9), (1.05, None)]
    assert [lv.rms_db for lv in levels] == [-20.0, float("-inf"), -25.5]


def test_speech_is_the_complement_of_silence() -> None:
    spans = speech_silence_spans([(1.0, 2.0), (2.0, 3.0), (5.0, None)], [], 8.0)
    assert [(s.kind, s.start, s.end) for s in spans] == [
        ("SPEECH", 0.0, 1.0),
        ("SILENCE", 1.0, 3.0),
        ("SPEECH", 3.0, 5.0),
        ("SILENCE", 5.0, 8.0),
    ]
    assert speech_silence_spans([], [], 4.0)[0].end == 4.0


async def test_invalid_duration_is_refused(binaries: Binaries, media: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="duration"):
        await analyze(binaries, media["scenes"], 0.0)
