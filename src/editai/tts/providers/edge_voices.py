"""Edge TTS voice names, checked without importing edge-tts (the mutation checks them too).

Strict on purpose: edge-tts puts the name into the SSML unescaped.
"""

from __future__ import annotations

import re

_LOCALE, _NAME = r"[a-z]{2,3}-[A-Z]{2}(?:-[a-z]+)?", r"[A-Z][A-Za-z0-9]{0,60}Neural"
VOICE_NAME = re.compile(
    rf"{_LOCALE}-{_NAME}|Microsoft Server Speech Text to Speech Voice \({_LOCALE}, {_NAME}\)"
)


def is_valid_voice(voice_id: str) -> bool:
    return VOICE_NAME.fullmatch(voice_id) is not None
