"""What every text-to-speech provider does: text + voice in, an audio file + timings out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class WordTiming:
    """One spoken word, in seconds from the start of the audio."""

    text: str
    start: float
    end: float

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "start": round(self.start, 3), "end": round(self.end, 3)}


@dataclass
class Speech:
    """A provider's result. ``audio_path`` lies in the ``work_dir`` it was given."""

    audio_path: Path
    # The provider's own word timings; empty when it gives none (they are then estimated).
    words: list[WordTiming] = field(default_factory=list)
    # Characters the provider says it billed (ElevenLabs' ``character-cost`` header);
    # None when the provider does not bill.
    billed_characters: int | None = None


class TtsProvider(Protocol):
    """``name`` is the profile's ``ttsProvider`` value: LOCAL, EDGE or ELEVENLABS."""

    name: str

    def default_voice(self) -> str: ...

    async def synthesize(self, text: str, voice_id: str, work_dir: Path) -> Speech:
        """Write the audio for ``text`` into ``work_dir`` (an existing, empty directory).

        Raises ProviderError on failure.
        """
        ...
