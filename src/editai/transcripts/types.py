"""GraphQL types of transcripts: a project's whole transcript, or the part a clip holds."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry

from editai.transcripts.models import Transcript as TranscriptModel
from editai.transcripts.segments import TranscriptSegment, segments_in_range
from editai.transcripts.words import TranscriptWord, words_in_range


@strawberry.type(
    name="TranscriptWord",
    description="A word heard in the audio, with its time and the model's confidence.",
)
class TranscriptWordType:
    text: str
    start_seconds: float
    end_seconds: float
    probability: float = strawberry.field(description="The model's confidence, 0..1.")

    @classmethod
    def of(cls, w: TranscriptWord) -> TranscriptWordType:
        return cls(
            text=w.text,
            start_seconds=round(w.start, 3),
            end_seconds=round(w.end, 3),
            probability=round(w.probability, 4),
        )


@strawberry.type(
    name="TranscriptSegment", description="A phrase as the model heard it, with its words."
)
class TranscriptSegmentType:
    start_seconds: float
    end_seconds: float
    text: str
    words: list[TranscriptWordType]


@strawberry.input(description="How to transcribe the source video.")
class TranscribeVideoInput:
    language: str | None = strawberry.field(
        default=None,
        description="A Whisper language code ('en', 'de', ...); null detects the language.",
    )


@strawberry.type(
    description="What is said in the audio (faster-whisper, offline). Times are seconds of "
    "the source video, or of the clip for Clip.transcript."
)
class Transcript:
    language: str = strawberry.field(description="Whisper language code, detected or given.")
    duration_seconds: float = strawberry.field(description="Seconds of audio covered.")
    model: str = strawberry.field(description="The model that wrote it.")
    segments: list[TranscriptSegmentType]
    words: list[TranscriptWordType]

    @strawberry.field(description="The whole text: the segments' texts joined.")
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)

    @classmethod
    def from_model(cls, m: TranscriptModel) -> Transcript:
        words = m.word_list()
        return cls(
            language=m.language,
            duration_seconds=round(m.duration_seconds, 3),
            model=m.model,
            segments=[_segment(s, words, s.text) for s in m.segment_list()],
            words=[TranscriptWordType.of(w) for w in words],
        )

    @classmethod
    def for_range(cls, m: TranscriptModel, start: float, end: float) -> Transcript:
        """The words inside ``[start, end)`` of the source, times relative to ``start``;
        the segments overlapping it, clamped to it (a cut one's text is its words inside)."""
        words = words_in_range(m.word_list(), start, end)
        segments = []
        for original in m.segment_list():
            for s in segments_in_range((original,), start, end):
                whole = original.start >= start and original.end <= end
                segments.append(_segment(s, words, original.text if whole else None))
        return cls(
            language=m.language,
            duration_seconds=round(max(min(end, m.duration_seconds) - start, 0.0), 3),
            model=m.model,
            segments=segments,
            words=[TranscriptWordType.of(w) for w in words],
        )


def _segment(
    s: TranscriptSegment, words: Sequence[TranscriptWord], text: str | None
) -> TranscriptSegmentType:
    # A word belongs to the segment its middle lies in (the same rule as words_in_range).
    inside = [w for w in words if s.start <= w.middle <= s.end]
    return TranscriptSegmentType(
        start_seconds=round(s.start, 3),
        end_seconds=round(s.end, 3),
        text=text if text is not None else " ".join(w.text for w in inside),
        words=[TranscriptWordType.of(w) for w in inside],
    )
