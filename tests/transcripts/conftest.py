"""Known speech made offline (eSpeak NG through the product's local TTS), shared by the
module's tests: generated once per session, transcribed once per module that asks."""

from __future__ import annotations

from pathlib import Path

import pytest

from editai.media.binaries import Binaries
from editai.media.ffmpeg import run_ffmpeg
from editai.transcripts.audio import extract_speech_audio
from tests.conftest import make_settings
from tests.transcripts.speech import SpeechSpec, make_speech_video


@pytest.fixture(scope="session")
async def speech(binaries: Binaries, tmp_path_factory: pytest.TempPathFactory) -> SpeechSpec:
    """≈13 s: three sentences, 1.5 s pauses between them, under a test pattern."""
    folder = tmp_path_factory.mktemp("speech")
    settings = make_settings(folder, f"sqlite+aiosqlite:///{folder / 'unused.db'}")
    return await make_speech_video(binaries, settings, folder)


@pytest.fixture(scope="session")
async def speech_wav(binaries: Binaries, speech: SpeechSpec) -> Path:
    """The speech video's audio as the transcriber reads it (16 kHz mono WAV)."""
    return await extract_speech_audio(
        binaries, speech.path, speech.path.with_suffix(".wav"), duration=speech.duration
    )


@pytest.fixture(scope="session")
async def silent_video(binaries: Binaries, speech: SpeechSpec) -> Path:
    """The speech video's picture with no audio track at all."""
    out = speech.path.with_name("silent.mp4")
    await run_ffmpeg(binaries, ["-i", str(speech.path), "-an", "-c:v", "copy", str(out)])
    return out
