"""Captions for one export: the ASS file written beside the job's other files, and the
``subtitles`` filter (libass) that burns it in the export's single encode.

The filter gets the file's path and ``fontsdir`` (the font's folder, so libass loads the
very file the layout measured, whatever fonts the system has) as filter options;
ffmpeg-python escapes option values for both levels FFmpeg parses (the option's and the
filter graph's), which a test checks with a folder named with ``' : , [ ] ;``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from editai.media.captions.ass import ass_document
from editai.media.captions.layout import Frame, Timed, layout_captions
from editai.media.captions.measure import TextMeasure
from editai.media.captions.style import CaptionStyle


@dataclass(frozen=True, slots=True)
class CaptionRequest:
    """Words to caption (seconds of the clip) and how they look."""

    words: Sequence[Timed]
    style: CaptionStyle


def write_captions(
    request: CaptionRequest,
    frame: Frame,
    font_file: Path,
    clip_seconds: float,
    folder: Path,
) -> Path | None:
    """The ASS file for ``request`` in ``folder``; None when no word falls in the clip.
    Blocking (Pillow measures): run it off the event loop."""
    measure = TextMeasure(font_file)
    captions = layout_captions(request.words, request.style, frame, measure.width, clip_seconds)
    if not captions:
        return None
    path = folder / f"captions-{uuid.uuid4().hex}.ass"
    path.write_text(ass_document(captions, request.style, frame, measure.face), encoding="utf-8")
    return path


def burn_captions(video: Any, ass_file: Path, font_file: Path) -> Any:
    """``video`` with the captions drawn on it (an ffmpeg-python stream)."""
    return video.filter("subtitles", filename=str(ass_file), fontsdir=str(font_file.parent))
