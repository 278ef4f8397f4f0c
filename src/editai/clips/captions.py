"""Word-by-word captions on an export: checked when the export is asked for, turned into
timed words (seconds of each clip) when the job runs.

* TRANSCRIPT: the clip's own audio. The project's transcript words whose middle lies in
  the clip's range of the source, relative to the clip (transcripts/words.py). Every
  clip's project must have a transcript when the export is asked for; one deleted before
  the job runs (its source replaced) fails the job with a readable error.
* VOICEOVER: the voice-over's TTS word timings (already in the export's payload), moved
  to where the voice starts in the clip. Needs a voice-over; it replaces the voice-over's
  phrase subtitles (``voiceoverSubtitles`` no longer applies).
* NONE: no captions, exactly as when ``captions`` is not given.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from editai.clips.models import Clip
from editai.errors import BadUserInput
from editai.jobs.registry import JobContext, JobFailedError
from editai.media.captions.burn import CaptionRequest
from editai.media.captions.style import CaptionStyle, CaptionStyleError, validate_style
from editai.media.voiceover_mix import TimedWord, VoiceoverMix
from editai.transcripts.models import Transcript
from editai.transcripts.repository import TranscriptRepository
from editai.transcripts.words import words_in_range

TRANSCRIPT_GONE = (
    "The transcript for these captions was deleted before the export could run "
    "(the source video was replaced?): run transcribeVideo again"
)


class CaptionSource(enum.Enum):
    TRANSCRIPT = "TRANSCRIPT"
    VOICEOVER = "VOICEOVER"
    NONE = "NONE"


@dataclass(frozen=True)
class CaptionsRequest:
    source: CaptionSource
    style: CaptionStyle = field(default_factory=CaptionStyle)


async def captions_payload(
    session: AsyncSession,
    captions: CaptionsRequest | None,
    clips: Iterable[Clip],
    *,
    has_voiceover: bool,
    height: int,
) -> dict[str, Any] | None:
    """What the job needs to know about the captions, or None for none; BAD_USER_INPUT
    for a style out of range, a VOICEOVER source without a voice-over, or a TRANSCRIPT
    source for a clip whose project has not been transcribed."""
    if captions is None or captions.source is CaptionSource.NONE:
        return None
    try:
        validate_style(captions.style, height)
    except CaptionStyleError as exc:
        raise BadUserInput(str(exc), field=f"captions.style.{exc.field}") from exc
    if captions.source is CaptionSource.VOICEOVER and not has_voiceover:
        raise BadUserInput(
            "VOICEOVER captions need a voice-over: give voiceoverId", field="captions.source"
        )
    if captions.source is CaptionSource.TRANSCRIPT:
        projects = {clip.project_id for clip in clips}
        found = await TranscriptRepository(session).for_projects(list(projects))
        if projects - set(found):
            raise BadUserInput(
                "TRANSCRIPT captions need the clip's project to be transcribed: "
                "run transcribeVideo first",
                field="captions.source",
            )
    return {"source": captions.source.value, "style": captions.style.to_json()}


@dataclass(frozen=True)
class CaptionWords:
    """Resolved for a job: where each clip's caption words come from."""

    style: CaptionStyle
    voice_words: tuple[TimedWord, ...] | None = None
    transcripts: dict[uuid.UUID, Transcript] = field(default_factory=dict)

    def for_clip(self, clip: Clip) -> CaptionRequest:
        if self.voice_words is not None:
            return CaptionRequest(self.voice_words, self.style)
        transcript = self.transcripts.get(clip.project_id)
        if transcript is None:
            raise JobFailedError(TRANSCRIPT_GONE)
        words = words_in_range(transcript.word_list(), clip.start_seconds, clip.end_seconds)
        return CaptionRequest(words, self.style)


async def caption_words(
    ctx: JobContext,
    spec: dict[str, Any] | None,
    clips: Sequence[Clip],
    voiceover: VoiceoverMix | None,
) -> CaptionWords | None:
    """The job's captions (see the module docstring), loaded before any clip is encoded."""
    if not spec:
        return None
    style = CaptionStyle.from_json(spec["style"])
    if spec["source"] == CaptionSource.VOICEOVER.value:
        if voiceover is None:
            raise JobFailedError("VOICEOVER captions need a voice-over")
        shift = voiceover.start_seconds
        moved = tuple(TimedWord(w.text, w.start + shift, w.end + shift) for w in voiceover.words)
        return CaptionWords(style, voice_words=moved)
    projects = {clip.project_id for clip in clips}
    async with ctx.transaction() as session:
        found = await TranscriptRepository(session).for_projects(list(projects))
    if projects - set(found):
        raise JobFailedError(TRANSCRIPT_GONE)
    return CaptionWords(style, transcripts=found)
