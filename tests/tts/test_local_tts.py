"""LOCAL: real eSpeak NG speech from the wheel, in a child process, with its word events."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import pytest

from editai.integrations.errors import ProviderRequestError
from editai.media.binaries import Binaries
from editai.tts.espeak_voices import catalogue, is_known_voice
from editai.tts.providers.local import LocalTtsProvider
from tests.conftest import make_settings
from tests.tts.conftest import measure

pytestmark = pytest.mark.timeout(60)

TEXT = "The quick brown fox jumps over the lazy dog. It is 1,234 metres away, isn't it?"


def provider(tmp_path: Path, **overrides: object) -> LocalTtsProvider:
    return LocalTtsProvider(make_settings(tmp_path, "sqlite+aiosqlite://", **overrides))


async def test_speaks_real_audio_with_word_timings(binaries: Binaries, tmp_path: Path) -> None:
    speech = await provider(tmp_path).synthesize(TEXT, "en-us", tmp_path / "work")

    assert speech.audio_path.parent == tmp_path / "work"
    with wave.open(str(speech.audio_path)) as wav:
        duration = wav.getnframes() / wav.getframerate()
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
    # About 2.5 words a second: far from silence, far from a hang.
    assert 3.0 < duration < 10.0
    facts = await measure(binaries, speech.audio_path)
    assert facts.max_db > -12.0, facts  # speech peaks, not a near-silent file
    assert facts.mean_db > -40.0, facts

    # Every whitespace word of the text, in order, punctuation kept ("1,234" once).
    assert [w.text for w in speech.words] == TEXT.split()
    starts = [w.start for w in speech.words]
    assert starts == sorted(starts)
    assert len(set(starts)) == len(starts)
    for word in speech.words:
        assert 0.0 <= word.start < word.end <= duration + 1e-3, word
    # The timings are eSpeak's own: "1,234" (read as "one thousand two hundred and
    # thirty four") takes far longer than the length of its characters suggests.
    number = next(w for w in speech.words if w.text == "1,234")
    fox = next(w for w in speech.words if w.text == "fox")
    assert number.end - number.start > 3 * (fox.end - fox.start)
    assert speech.billed_characters is None


async def test_voice_changes_the_speech(tmp_path: Path) -> None:
    local = provider(tmp_path)
    english = await local.synthesize("Bonjour tout le monde", "en-us", tmp_path / "en")
    french = await local.synthesize("Bonjour tout le monde", "fr", tmp_path / "fr")
    assert english.audio_path.read_bytes() != french.audio_path.read_bytes()
    # French eSpeak says "tout le monde" as one word: one timing for the three tokens.
    assert [w.text for w in french.words] == ["Bonjour", "tout le monde"]


@pytest.mark.parametrize("voice", ["vulcan", "Alex", "gmw", "en-us+nonsense", "en-gb", "../x"])
async def test_unknown_voice_is_refused(tmp_path: Path, voice: str) -> None:
    # eSpeak itself "accepts" some of these (a variant file, a folder) and speaks badly.
    assert not is_known_voice(voice)
    with pytest.raises(ProviderRequestError) as caught:
        await provider(tmp_path).synthesize("Hello", voice, tmp_path / "work")
    assert caught.value.retryable is False
    assert voice in caught.value.message
    assert not (tmp_path / "work").exists() or not list((tmp_path / "work").iterdir())


@pytest.mark.parametrize("voice", ["en-us", "EN-US", "en", "fr", "de", "gmw/en-US", "en-us+f3"])
def test_known_voices(voice: str) -> None:
    assert is_known_voice(voice)


def test_every_catalogued_voice_is_one_espeak_finds() -> None:
    """The catalogue (read from the data files) against the library itself."""
    names = sorted(catalogue().voices)
    assert len(names) > 100
    script = (
        "import ctypes, sys, espeakng_loader as e\n"
        "lib = ctypes.CDLL(e.get_library_path())\n"
        "lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]\n"  # noqa: E501
        "lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]\n"
        "lib.espeak_Initialize(2, 0, e.get_data_path().encode(), 0x8000)\n"
        "for name in sys.stdin.read().splitlines():\n"
        "    if lib.espeak_SetVoiceByName(name.encode()) != 0: print(name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input="\n".join(names),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split("\n") == [""], done.stdout


def test_default_voice_comes_from_settings(tmp_path: Path) -> None:
    assert provider(tmp_path).default_voice() == "en-us"
    assert provider(tmp_path, local_tts_voice="de").default_voice() == "de"
    assert provider(tmp_path).name == "LOCAL"
