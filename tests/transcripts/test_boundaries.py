"""Snapping clip windows to speech pauses, and scoring windows by speech density."""

from __future__ import annotations

import pytest

from editai.media.windows import Window, choose_windows
from editai.transcripts.boundaries import (
    LEAD,
    TAIL,
    pauses,
    sentences,
    snap_windows,
    speech_spans,
)
from editai.transcripts.words import TranscriptWord


def spoken(*sentence_specs: tuple[float, str], word_seconds: float = 0.3) -> list[TranscriptWord]:
    """Sentences of back-to-back words (no gaps inside), each starting at its given time."""
    words: list[TranscriptWord] = []
    for start, text in sentence_specs:
        at = start
        for token in text.split():
            words.append(TranscriptWord(token, at, at + word_seconds))
            at += word_seconds
    return words


# 0.5-2.9 s, 4.0-6.4 s, 8.0-10.4 s: eight words each, pauses of 1.1 s and 1.6 s.
WORDS = spoken(
    (0.5, "one two three four five six seven eight."),
    (4.0, "nine ten eleven twelve thirteen fourteen fifteen sixteen."),
    (8.0, "a b c d e f g h."),
)


def inside_a_word(t: float, words: list[TranscriptWord]) -> bool:
    return any(w.start < t < w.end for w in words)


def test_pauses_and_sentences() -> None:
    found = pauses(WORDS, 12.0)
    edges = [x for p in found for x in (p.start, p.end)]
    assert edges == pytest.approx([0.0, 0.5, 2.9, 4.0, 6.4, 8.0, 10.4, 12.0])
    assert [len(s) for s in sentences(WORDS)] == [8, 8, 8]
    # A sentence end with no audible gap is no pause; a short gap inside one is none either.
    tight = [
        TranscriptWord("end.", 0.0, 1.0),
        TranscriptWord("next", 1.0, 1.5),
        TranscriptWord("word", 1.6, 2.0),
    ]
    assert [(p.start, p.end) for p in pauses(tight, 3.0)] == [(0.0, 0.0), (2.0, 3.0)]


def test_an_edge_inside_a_word_moves_into_the_nearest_pause() -> None:
    # [1.0, 6.0): starts in "two", ends in "fourteen".
    [snapped] = snap_windows([Window(1.0, 6.0, 0.5)], WORDS, 12.0, 5.0)
    assert snapped.start == pytest.approx(0.5 - LEAD)  # before "one"
    assert snapped.end == pytest.approx(6.4 + TAIL)  # after "sixteen."
    assert snapped.score == 0.5
    assert not inside_a_word(snapped.start, WORDS)
    assert not inside_a_word(snapped.end, WORDS)


def test_edges_already_in_pauses_do_not_move() -> None:
    window = Window(3.5, 7.5, 0.1)
    assert snap_windows([window], WORDS, 12.0, 4.0) == [window]


def test_no_transcript_changes_nothing() -> None:
    windows = [Window(1.0, 6.0, 0.5), Window(6.0, 11.0, 0.2)]
    assert snap_windows(windows, [], 12.0, 5.0) == windows


def test_edges_move_only_within_reach_and_clips_keep_most_of_their_length() -> None:
    # One long sentence with no pause from 0.5 s to 30.5 s: nothing in reach of 10 s.
    long = spoken((0.5, " ".join(f"w{i}" for i in range(100))))
    window = Window(10.0, 20.0, 0.3)
    assert snap_windows([window], long, 40.0, 10.0) == [window]


def test_snapped_windows_never_overlap_and_keep_their_order() -> None:
    # Touching windows whose shared edge (6.0) is inside "fourteen": the first ends after
    # "sixteen.", the second starts there at the earliest, and both edges are in pauses.
    windows = [Window(6.0, 11.0, 0.9), Window(1.0, 6.0, 0.5)]
    snapped = snap_windows(windows, WORDS, 12.0, 5.0)
    assert [w.score for w in snapped] == [0.9, 0.5]  # the order given
    first, second = sorted(snapped, key=lambda w: w.start)
    assert first.end <= second.start
    assert first.start >= 0.0
    assert second.end <= 12.0
    for w in snapped:
        assert not inside_a_word(w.start, WORDS), w
        assert not inside_a_word(w.end, WORDS), w


def test_a_sentence_end_wins_over_a_slightly_nearer_pause() -> None:
    words = [
        *spoken((0.0, "alpha beta gamma.")),  # ends 0.9
        TranscriptWord("and", 1.2, 1.5),  # mid-sentence pause 1.5-1.9 (0.4 s)
        *spoken((1.9, "then more words here")),  # ends 3.1
    ]
    # The edge at 1.3 (in "and"): the mid-sentence pause at 1.5 is nearer than the
    # sentence end at 0.9, but a sentence end counts SENTENCE_BONUS nearer.
    [snapped] = snap_windows([Window(-0.0, 1.3, 0.0)], words, 4.0, 1.4)
    assert snapped.end == pytest.approx(0.9 + TAIL)


def test_dense_speech_scores_higher_and_wins_the_window() -> None:
    # Sparse speech (one-word sentences every 2 s) and a dense sentence (16 words in 4 s).
    sparse = [TranscriptWord(f"s{i}.", 1.0 + 2 * i, 1.3 + 2 * i) for i in range(4)]
    dense = spoken((12.0, " ".join(f"d{i}" for i in range(15)) + " end."), word_seconds=0.25)
    words = [*sparse, *dense]
    spans = speech_spans(words)
    assert max(spans, key=lambda s: s.score).start == pytest.approx(12.0 - LEAD)
    assert spans[-1].score == 1.0
    [window] = choose_windows(20.0, 4.0, 1, spans)
    assert window.start == pytest.approx(12.0 - LEAD)
