"""Word timings: grouping a provider's events into the text's words, and estimating."""

from __future__ import annotations

import pytest

from editai.tts.providers.base import WordTiming
from editai.tts.timings import estimate_words, fit_to_duration, words_from_events


def test_estimate_spreads_the_duration_by_word_length() -> None:
    words = estimate_words("  a bb, cccc  ", 8.0)
    assert [w.text for w in words] == ["a", "bb,", "cccc"]
    assert [(w.start, w.end) for w in words] == [(0.0, 1.0), (1.0, 4.0), (4.0, 8.0)]


def test_events_are_grouped_by_token() -> None:
    text = "It costs 1,234 dollars. Done"
    events = [
        ("sentence", 0, 0.0),
        ("word", 0, 0.0),
        ("word", 3, 0.2),
        ("word", 9, 0.5),  # "1"
        ("word", 11, 0.9),  # "234": the same token
        ("word", 15, 1.6),
        ("end", 22, 2.2),  # sentence end: a pause follows
        ("sentence", 24, 2.5),
        ("word", 24, 2.5),
        ("end", 28, 3.0),
    ]
    words = words_from_events(text, events, 3.1)
    assert words == [
        WordTiming("It", 0.0, 0.2),
        WordTiming("costs", 0.2, 0.5),
        WordTiming("1,234", 0.5, 1.6),
        WordTiming("dollars.", 1.6, 2.2),
        WordTiming("Done", 2.5, 3.0),
    ]


def test_untimed_tokens_join_a_neighbour() -> None:
    text = "— Well — yes 😀"
    events = [("word", 2, 0.1), ("word", 9, 0.6)]
    words = words_from_events(text, events, 1.0)
    assert [w.text for w in words] == ["— Well —", "yes 😀"]
    assert words[-1].end == 1.0  # the last word runs to the end of the audio
    assert " ".join(w.text for w in words) == " ".join(text.split())


def test_event_between_tokens_belongs_to_the_next() -> None:
    assert words_from_events("a  b", [("word", 2, 0.5)], 1.0) == [WordTiming("a b", 0.5, 1.0)]


def test_no_word_events_means_no_timings() -> None:
    assert words_from_events("hello", [("end", 5, 0.4)], 1.0) == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([WordTiming("a", 0.0, 0.5), WordTiming("b", 0.5, 9.0)], [(0.0, 0.5), (0.5, 2.0)]),
        ([WordTiming("a", 1.0, 0.5), WordTiming("b", 0.5, 0.7)], [(1.0, 1.0), (1.0, 1.0)]),
        ([WordTiming("a", 3.0, 4.0)], [(2.0, 2.0)]),
    ],
)
def test_fit_to_duration(given: list[WordTiming], expected: list[tuple[float, float]]) -> None:
    assert [(w.start, w.end) for w in fit_to_duration(given, 2.0)] == expected
