from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import strawberry


@strawberry.enum(description="Who finds the moments worth a clip.")
class Analyzer(StrEnum):
    LOCAL = "LOCAL"  # FFmpeg measures + offline transcription: no key, no network
    GEMINI = "GEMINI"  # Google Gemini watches the video and picks highlights (paid)


@strawberry.input(description="How to analyse the source video.")
class AnalyzeVideoInput:
    analyzer: Analyzer = strawberry.field(
        default=Analyzer.LOCAL,
        description="LOCAL (default): scenes, speech and silence measured with FFmpeg, and "
        "the speech transcribed offline when the source has audio. "
        "GEMINI: highlight moments picked by Gemini (needs a Gemini API key).",
    )


@strawberry.type(description="Whether the server's own Gemini API key works.")
class GeminiStatus:
    configured: bool = strawberry.field(description="A global Gemini API key is set.")
    ok: bool = strawberry.field(description="The key was accepted for the model.")
    model: str = strawberry.field(description="The model analyses use.")
    error: str | None = strawberry.field(description="Why the check failed, if it did.")
    checked_at: datetime | None = strawberry.field(
        description="When the (briefly cached) check ran; null when nothing was checked."
    )
