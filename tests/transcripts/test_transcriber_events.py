"""The parent's side of the transcriber: its bounded line reader and its event folding."""

from __future__ import annotations

import asyncio

import pytest

from editai.transcripts.transcriber import (
    Transcription,
    TranscriptionError,
    _apply,
    _read_line,
    threads_for_machine,
)


async def test_a_line_over_the_bound_fails_instead_of_growing() -> None:
    reader = asyncio.StreamReader(limit=1024)
    reader.feed_data(b'{"type":"info"}\n' + b"x" * 4096 + b"\n")
    reader.feed_eof()
    assert await _read_line(reader) == b'{"type":"info"}\n'
    with pytest.raises(TranscriptionError, match="too long"):
        await _read_line(reader)


async def test_the_last_line_without_a_newline_and_the_end() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(b'{"type":"done"}')
    reader.feed_eof()
    assert await _read_line(reader) == b'{"type":"done"}'
    assert await _read_line(reader) == b""


def test_events_fold_into_a_transcription() -> None:
    result = Transcription()
    assert _apply({"type": "info", "language": "de", "duration": 10.0}, result) == 0.0
    progress = _apply(
        {
            "type": "segment",
            "start": 1.0,
            "end": 2.5,
            "text": " Hallo Welt. ",
            "words": [
                {"text": " Hallo", "start": 1.0, "end": 1.6, "probability": 0.9},
                {"text": "Welt.", "start": 1.7, "end": 2.5, "probability": 1.5},
                {"text": "broken"},
            ],
            "progress": 0.25,
        },
        result,
    )
    assert progress == 0.25
    assert (result.language, result.duration) == ("de", 10.0)
    assert [s.text for s in result.segments] == ["Hallo Welt."]
    assert [(w.text, w.probability) for w in result.words] == [("Hallo", 0.9), ("Welt.", 1.0)]
    assert _apply({"type": "done"}, result) is None


def test_threads_are_sized_for_the_machine() -> None:
    assert threads_for_machine(3) == 3
    assert 1 <= threads_for_machine(0) <= 1024
