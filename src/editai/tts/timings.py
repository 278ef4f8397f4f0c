"""Word timings of a voice-over: from a provider's events, or estimated from the text.

Words are the text's whitespace-separated tokens, punctuation included ("world,"), in
both cases: subtitles then show the text as written, and a phrase can end after ". ! ?".
A provider may split one token into several events ("1,234" is read as three numbers)
or give none for it (a dash, an emoji): events are grouped by the token they fall in,
and an untimed token joins the timed word before it (the first timed word, at the start).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from editai.tts.providers.base import WordTiming

TOKEN = re.compile(r"\S+")


def _tokens(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in TOKEN.finditer(text)]


def estimate_words(text: str, duration: float) -> list[WordTiming]:
    """The duration spread over the words in proportion to their length."""
    tokens = [t for _, _, t in _tokens(text)]
    total = sum(len(t) for t in tokens)
    words: list[WordTiming] = []
    elapsed = 0
    for token in tokens:
        start = duration * elapsed / total
        elapsed += len(token)
        words.append(WordTiming(token, start, duration * elapsed / total))
    return words


def words_from_events(
    text: str, events: Sequence[tuple[str, int, float]], duration: float
) -> list[WordTiming]:
    """Words from ``(kind, character index, seconds)`` events.

    ``kind`` "word" marks where a word starts; any event is a boundary a word ends at. A
    token's time runs from its first word event to the next boundary after its last one.
    """
    tokens = _tokens(text)
    token_starts = [start for start, _, _ in tokens]
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for kind, position, seconds in events:
        if kind != "word":
            continue
        index = bisect.bisect_right(token_starts, position) - 1
        if index < 0 or position >= tokens[index][1]:
            index += 1  # between tokens: the word is the next one
        if index < len(tokens):
            first.setdefault(index, seconds)
            last[index] = max(last.get(index, seconds), seconds)
    if not first:
        return []
    boundaries = sorted({seconds for _, _, seconds in events})
    timed = sorted(first)
    words: list[WordTiming] = []
    previous_start = 0.0
    for n, index in enumerate(timed):
        following = timed[n + 1] if n + 1 < len(timed) else len(tokens)
        lead = 0 if n == 0 else index  # untimed tokens before the first join it
        spoken = " ".join(t for _, _, t in tokens[lead:following])
        start = min(max(first[index], previous_start), duration)
        after = bisect.bisect_right(boundaries, last[index])
        end = boundaries[after] if after < len(boundaries) else duration
        words.append(WordTiming(spoken, start, min(max(end, start), duration)))
        previous_start = start
    return words


def fit_to_duration(words: Sequence[WordTiming], duration: float) -> list[WordTiming]:
    """Timings clamped to the final file's length (re-encoding may shift it by a frame),
    in order, each ending at or after its start."""
    fitted: list[WordTiming] = []
    floor = 0.0
    for word in words:
        start = min(max(word.start, floor), duration)
        fitted.append(WordTiming(word.text, start, min(max(word.end, start), duration)))
        floor = start
    return fitted
