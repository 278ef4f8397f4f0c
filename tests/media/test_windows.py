"""choose_windows: the documented rules, checked on hand-made cases and many random ones."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from editai.media.analysis import SpanScore
from editai.media.windows import Window, choose_windows

TOL = 1e-6


def _check(windows: list[Window], duration: float, clip: float, count: int) -> None:
    assert len(windows) == count
    for w in windows:
        assert w.end - w.start == pytest.approx(clip, abs=TOL)
        assert w.start >= -TOL
        assert w.end <= duration + TOL
        assert 0.0 <= w.score <= 1.0
    ordered = sorted(windows, key=lambda w: w.start)
    for left, right in itertools.pairwise(ordered):
        assert left.end <= right.start + TOL, (left, right)


def _random_spans(rng: random.Random, duration: float) -> list[SpanScore]:
    spans: list[SpanScore] = []
    for _ in range(rng.randint(0, 25)):
        start = rng.uniform(-1.0, duration + 1.0)
        end = start + rng.uniform(0.01, duration / 2)
        kind = rng.choice(["SCENE", "SPEECH", "SILENCE"])
        spans.append(SpanScore(kind, start, end, round(rng.random(), 3)))  # type: ignore[arg-type]
    return spans


@pytest.mark.parametrize(
    ("duration", "clip", "count", "message"),
    [
        (60.0, 0.0, 1, "positive"),
        (60.0, -5.0, 1, "positive"),
        (60.0, math.nan, 1, "positive"),
        (60.0, 61.0, 1, "longer than the video"),
        (60.0, 10.0, 0, "at least one"),
        (60.0, 10.0, 7, "do not fit"),
        (60.0, 25.0, 3, "at most 2"),
        (0.0, 1.0, 1, "duration"),
    ],
)
def test_invalid_requests_raise(duration: float, clip: float, count: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        choose_windows(duration, clip, count, [])


def test_without_spans_windows_are_spread_evenly() -> None:
    # slack 60 s split into 5 equal gaps of 12 s around 4 windows.
    windows = choose_windows(100.0, 10.0, 4, [])
    assert [w.start for w in windows] == pytest.approx([12.0, 34.0, 56.0, 78.0])
    assert all(w.score == 0.0 for w in windows)


def test_exact_fit_packs_windows_side_by_side() -> None:
    spans = [SpanScore("SPEECH", 2.0, 4.0, 1.0)]  # would block the second window: skipped
    windows = choose_windows(10.0, 5.0, 2, spans)
    assert sorted((w.start, w.end) for w in windows) == [(0.0, 5.0), (5.0, 10.0)]
    assert choose_windows(10.0, 10.0, 1, spans)[0].start == 0.0


def test_best_span_anchors_the_first_window() -> None:
    spans = [SpanScore("SCENE", t, t + 10.0, 0.1) for t in range(0, 100, 10)]
    spans.append(SpanScore("SPEECH", 42.0, 47.0, 1.0))
    windows = choose_windows(100.0, 8.0, 3, spans)
    assert windows[0].start == 42.0
    assert windows[0].score > windows[1].score
    # The rest start at span starts too (there are enough free ones).
    assert {w.start for w in windows[1:]} <= {float(t) for t in range(0, 100, 10)}
    _check(windows, 100.0, 8.0, 3)


def test_a_span_near_the_end_is_moved_left_to_fit() -> None:
    spans = [SpanScore("SCENE", 95.0, 100.0, 0.9), SpanScore("SCENE", 0.0, 95.0, 0.1)]
    windows = choose_windows(100.0, 10.0, 1, spans)
    assert (windows[0].start, windows[0].end) == (90.0, 100.0)


def test_silence_never_anchors_and_lowers_coverage() -> None:
    only_silence = [SpanScore("SILENCE", 20.0, 30.0, 0.05)]
    assert [w.start for w in choose_windows(60.0, 10.0, 2, only_silence)] == pytest.approx(
        [40.0 / 3, 40.0 / 3 * 2 + 10.0]
    )
    # Two equally strong speech starts; the one followed by silence comes second.
    spans = [
        SpanScore("SPEECH", 10.0, 12.0, 0.8),
        SpanScore("SILENCE", 12.0, 20.0, 0.0),
        SpanScore("SPEECH", 40.0, 50.0, 0.8),
    ]
    windows = choose_windows(60.0, 8.0, 2, spans)
    assert [w.start for w in windows] == [40.0, 10.0]
    assert windows[0].score > windows[1].score


def test_ties_go_to_the_earlier_start() -> None:
    spans = [SpanScore("SCENE", t, t + 5.0, 0.5) for t in (30.0, 10.0, 20.0)]
    assert [w.start for w in choose_windows(40.0, 5.0, 3, spans)] == [10.0, 20.0, 30.0]


def test_random_inputs_always_give_valid_deterministic_windows() -> None:
    rng = random.Random(20240607)
    for _ in range(600):
        duration = round(rng.uniform(1.0, 600.0), 3)
        clip = round(rng.uniform(0.2, duration), 3)
        most = int((duration + 1e-9) // clip)
        count = rng.randint(1, most)
        spans = _random_spans(rng, duration)
        windows = choose_windows(duration, clip, count, spans)
        _check(windows, duration, clip, count)
        shuffled = spans[:]
        rng.shuffle(shuffled)
        assert choose_windows(duration, clip, count, shuffled) == windows
        # One more window than fits is refused.
        if (most + 1) * clip > duration + 1e-9:
            with pytest.raises(ValueError, match="do not fit"):
                choose_windows(duration, clip, most + 1, spans)


def test_random_inputs_anchor_on_span_starts_when_there_is_room() -> None:
    """With one clip of slack, the best window sits on a SCENE/SPEECH span start."""
    rng = random.Random(7)
    for _ in range(300):
        duration = rng.uniform(20.0, 300.0)
        clip = rng.uniform(1.0, duration / 4)
        count = rng.randint(1, max(1, int(duration // clip) - 2))
        spans = [s for s in _random_spans(rng, duration) if 0 <= s.start <= duration - clip]
        anchors = {s.start for s in spans if s.kind != "SILENCE"}
        windows = choose_windows(duration, clip, count, spans)
        _check(windows, duration, clip, count)
        if anchors:
            assert windows[0].start in anchors
            anchored = [w for w in windows if w.start in anchors]
            assert windows[0].score == max(w.score for w in anchored)
            assert [w.score for w in anchored] == sorted((w.score for w in anchored), reverse=True)
