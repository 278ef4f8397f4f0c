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


# --- HIGHLIGHT spans (picked by a video-understanding model) ---------------------------


def test_a_highlight_beats_a_scene_cut_of_equal_score() -> None:
    spans = [SpanScore("SCENE", 10.0, 20.0, 0.6), SpanScore("HIGHLIGHT", 50.0, 55.0, 0.6)]
    windows = choose_windows(100.0, 5.0, 1, spans)
    assert windows[0].start == 50.0
    # The same spans as a SCENE at 50 would tie: the earlier start wins.
    tie = [SpanScore("SCENE", 10.0, 20.0, 0.6), SpanScore("SCENE", 50.0, 55.0, 0.6)]
    assert choose_windows(100.0, 5.0, 1, tie)[0].start == 10.0


def test_highlights_come_first_even_against_stronger_measured_spans() -> None:
    spans = [
        SpanScore("SCENE", 0.0, 30.0, 1.0),
        SpanScore("SPEECH", 30.0, 60.0, 1.0),
        SpanScore("HIGHLIGHT", 70.0, 74.0, 0.2),
        SpanScore("HIGHLIGHT", 80.0, 90.0, 0.9),
    ]
    windows = choose_windows(100.0, 8.0, 4, spans)
    # Highlights best score first, then the measured anchors, best first.
    assert [w.start for w in windows] == [80.0, 70.0, 0.0, 30.0]
    _check(windows, 100.0, 8.0, 4)


def test_overlapping_highlights_yield_to_the_better_one() -> None:
    spans = [
        SpanScore("HIGHLIGHT", 10.0, 14.0, 0.5),
        SpanScore("HIGHLIGHT", 12.0, 18.0, 0.9),
        SpanScore("SCENE", 40.0, 60.0, 0.4),
    ]
    windows = choose_windows(60.0, 5.0, 2, spans)
    assert [w.start for w in windows] == [12.0, 40.0]


def test_highlights_alone_anchor_and_the_rest_is_filled() -> None:
    spans = [SpanScore("HIGHLIGHT", 30.0, 33.0, 0.8)]
    windows = choose_windows(60.0, 10.0, 3, spans)
    assert windows[0].start == 30.0
    _check(windows, 60.0, 10.0, 3)
    # Filled windows sit in the free gaps around it, in time order.
    assert windows[1].end <= 30.0 + TOL
    assert windows[2].start >= 40.0 - TOL


def test_a_highlight_near_the_end_is_moved_left() -> None:
    spans = [SpanScore("HIGHLIGHT", 57.0, 59.0, 0.9)]
    assert choose_windows(60.0, 10.0, 1, spans)[0].start == 50.0


def test_random_inputs_with_highlights_rank_highlight_windows_first() -> None:
    rng = random.Random(4242)
    for _ in range(300):
        duration = round(rng.uniform(20.0, 300.0), 3)
        clip = round(rng.uniform(1.0, duration / 4), 3)
        count = rng.randint(1, max(1, int(duration // clip) - 2))
        spans = [s for s in _random_spans(rng, duration) if 0 <= s.start <= duration - clip]
        picks = [
            SpanScore("HIGHLIGHT", start, start + rng.uniform(0.5, 20.0), round(rng.random(), 3))
            for start in (rng.uniform(0, duration - clip) for _ in range(rng.randint(0, 6)))
        ]
        spans += picks
        windows = choose_windows(duration, clip, count, spans)
        _check(windows, duration, clip, count)
        shuffled = spans[:]
        rng.shuffle(shuffled)
        assert choose_windows(duration, clip, count, shuffled) == windows
        highlight_starts = {s.start for s in picks}
        measured_starts = {s.start for s in spans if s.kind in ("SCENE", "SPEECH")}
        ranks = [
            2 if w.start in highlight_starts else 1 if w.start in measured_starts else 0
            for w in windows
        ]
        # Highlight-anchored windows, then measured-anchored ones, then the filled ones.
        assert ranks == sorted(ranks, reverse=True), (ranks, windows)
        if picks:
            assert windows[0].start in highlight_starts
        for rank in (2, 1):
            scores = [w.score for w, r in zip(windows, ranks, strict=True) if r == rank]
            assert scores == sorted(scores, reverse=True)
