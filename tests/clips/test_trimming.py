import math

import pytest

from editai.clips.trimming import MIN_CLIP_SECONDS, checked_range, snap_to_words
from editai.errors import BadUserInput
from editai.transcripts.words import TranscriptWord

WORDS = (
    TranscriptWord("one", 1.0, 1.6),
    TranscriptWord("two", 2.0, 2.7),
    TranscriptWord("three", 5.2, 5.9),
)


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (-0.1, 3.0, "startSeconds"),
        (math.nan, 3.0, "startSeconds"),
        (0.0, 10.5, "endSeconds"),
        (0.0, math.inf, "endSeconds"),
        (3.0, 3.0, "endSeconds"),
        (4.0, 3.0, "endSeconds"),
        (3.0, 3.0 + MIN_CLIP_SECONDS / 2, "endSeconds"),
    ],
)
def test_ranges_a_clip_cannot_show_are_refused(start: float, end: float, field: str) -> None:
    with pytest.raises(BadUserInput) as refused:
        checked_range(start, end, 10.0)
    assert refused.value.extensions == {"field": field}


def test_a_range_up_to_the_source_end_is_kept_and_float_noise_clamped() -> None:
    assert checked_range(0.0, 10.0, 10.0) == (0.0, 10.0)
    assert checked_range(2.5, 10.0 + 1e-9, 10.0) == (2.5, 10.0)


def test_edges_inside_words_move_out_to_the_word_boundaries() -> None:
    assert snap_to_words(WORDS, 2.3, 5.5) == (2.0, 5.9)


def test_edges_in_pauses_or_on_boundaries_stay() -> None:
    assert snap_to_words(WORDS, 1.8, 4.0) == (1.8, 4.0)
    assert snap_to_words(WORDS, 2.0, 5.9) == (2.0, 5.9)
    assert snap_to_words((), 2.3, 5.5) == (2.3, 5.5)


def test_snapping_only_ever_widens_the_range() -> None:
    for start in [x / 10 for x in range(0, 60)]:
        for end in [start + x / 10 for x in range(2, 20)]:
            snapped = snap_to_words(WORDS, start, end)
            assert snapped[0] <= start
            assert snapped[1] >= end
            for word in WORDS:
                assert not word.start < snapped[0] < word.end
                assert not word.start < snapped[1] < word.end
