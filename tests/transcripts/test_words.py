import pytest

from editai.transcripts.words import (
    TranscriptWord,
    words_from_json,
    words_in_range,
    words_to_json,
)


def test_words_round_trip_through_json() -> None:
    words = (TranscriptWord("Hello", 0.5, 0.9, 0.75), TranscriptWord("world.", 1.0, 1.4, 0.5))
    assert words_from_json(words_to_json(words)) == words


def test_malformed_entries_are_dropped_and_the_rest_sorted() -> None:
    raw = [
        {"text": "second", "start": 2.0, "end": 2.5},
        {"text": "x"},
        {"text": "  ", "start": 1, "end": 2},
        {"text": "nan", "start": float("nan"), "end": 1},
        {"text": "negative", "start": -1, "end": 1},
        "not a mapping",
        {"text": "first\x00one", "start": 1.0, "end": 0.5, "probability": 7},
    ]
    words = words_from_json(raw)  # type: ignore[arg-type]
    assert [w.text for w in words] == ["first one", "second"]
    assert words[0].end == 1.0  # end is at least start
    assert words[0].probability == 1.0  # clamped
    assert words[1].probability == 1.0  # absent: certain (TTS timings have none)


def test_words_in_range_keep_words_by_their_middle_and_shift_them() -> None:
    words = (
        TranscriptWord("before", 0.0, 0.9),
        TranscriptWord("straddles-mostly-out", 0.5, 1.3),  # middle 0.9: out
        TranscriptWord("straddles-mostly-in", 0.8, 1.6),  # middle 1.2: in, clamped to 0
        TranscriptWord("inside", 2.0, 2.5),
        TranscriptWord("at-end", 2.8, 3.4),  # middle 3.1: out of [1, 3)
    )
    inside = words_in_range(words, 1.0, 3.0)
    assert [w.text for w in inside] == ["straddles-mostly-in", "inside"]
    assert [(w.start, w.end) for w in inside] == [(0.0, pytest.approx(0.6)), (1.0, 1.5)]
    assert words_in_range(words, 3.0, 3.0) == ()
