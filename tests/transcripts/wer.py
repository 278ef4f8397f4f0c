"""Word error rate after normalising case and punctuation (tests and the benchmark)."""

from __future__ import annotations

import re
from collections.abc import Sequence


def normalise(text: str) -> list[str]:
    """Lower case, punctuation gone (an apostrophe inside a word kept), split on blanks."""
    return re.sub(r"[^\w\s']|(?<!\w)'|'(?!\w)", " ", text.lower()).split()


def edit_distance(a: Sequence[str], b: Sequence[str]) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref = normalise(reference)
    return edit_distance(ref, normalise(hypothesis)) / max(len(ref), 1)
