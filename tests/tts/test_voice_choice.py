"""Which provider and voice speak: the request's, the profile's, the server's defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from editai.errors import BadUserInput
from editai.integrations.credentials import ProviderCredentials
from editai.settings import Settings
from editai.tts.providers import TtsProviderName, create_provider
from editai.tts.service import VoiceChoice, choose_voice, clean_text
from tests.conftest import make_settings

LOCAL, EDGE, ELEVENLABS = TtsProviderName.LOCAL, TtsProviderName.EDGE, TtsProviderName.ELEVENLABS


def creds(
    provider: str = "LOCAL", voice: str | None = None, key: str | None = None
) -> ProviderCredentials:
    return ProviderCredentials(
        tts_provider=provider,
        tts_voice_id=voice,
        elevenlabs_api_key=key,
        gemini_api_key=None,
        postiz_api_url=None,
        postiz_api_key=None,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, "sqlite+aiosqlite://")


def test_defaults_and_profile_choices(settings: Settings) -> None:
    assert choose_voice(creds(), settings) == VoiceChoice(LOCAL, "en-us")
    assert choose_voice(creds(voice="de"), settings) == VoiceChoice(LOCAL, "de")
    assert choose_voice(creds("EDGE"), settings) == VoiceChoice(EDGE, "en-US-AriaNeural")
    assert choose_voice(creds("ELEVENLABS", key="k"), settings) == VoiceChoice(
        ELEVENLABS, "21m00Tcm4TlvDq8ikWAM"
    )
    assert choose_voice(creds("ELEVENLABS", "abcDEF123", "k"), settings) == VoiceChoice(
        ELEVENLABS, "abcDEF123"
    )


def test_request_overrides_the_profile(settings: Settings) -> None:
    profile = creds("ELEVENLABS", "abcDEF123", "k")
    assert choose_voice(profile, settings, voice_id=" zzzAAA9 ") == VoiceChoice(
        ELEVENLABS, "zzzAAA9"
    )
    # Another provider: the profile's voice (an ElevenLabs id) does not carry over.
    assert choose_voice(profile, settings, LOCAL) == VoiceChoice(LOCAL, "en-us")
    assert choose_voice(profile, settings, LOCAL, "fr") == VoiceChoice(LOCAL, "fr")
    assert choose_voice(profile, settings, EDGE, "de-DE-KatjaNeural") == VoiceChoice(
        EDGE, "de-DE-KatjaNeural"
    )
    assert choose_voice(creds(voice="de"), settings, voice_id="  ") == VoiceChoice(LOCAL, "de")


@pytest.mark.parametrize(
    ("credentials", "provider", "voice", "message"),
    [
        (creds(), ELEVENLABS, None, "ElevenLabs needs an API key"),
        (creds("ELEVENLABS"), None, None, "ElevenLabs needs an API key"),
        (creds(), EDGE, "Aria", "voiceId 'Aria' is not a EDGE voice"),
        (creds(key="k"), ELEVENLABS, "a/b", "voiceId 'a/b' is not a ELEVENLABS voice"),
        (creds(voice="Alex"), None, None, "The profile's ttsVoiceId 'Alex' is not a LOCAL"),
        (creds("SPEAKY"), None, None, "The configured TTS provider 'SPEAKY' is not one of"),
    ],
)
def test_refusals(
    settings: Settings,
    credentials: ProviderCredentials,
    provider: TtsProviderName | None,
    voice: str | None,
    message: str,
) -> None:
    with pytest.raises(BadUserInput) as caught:
        choose_voice(credentials, settings, provider, voice)
    assert message in caught.value.message


def test_server_default_voice_is_checked_too(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite+aiosqlite://", local_tts_voice="vulcan")
    with pytest.raises(BadUserInput) as caught:
        choose_voice(creds(), settings)
    assert caught.value.message == "The server's default voice 'vulcan' is not a LOCAL voice"


def test_text_is_stripped_and_bounded(settings: Settings) -> None:
    assert clean_text("  hi  ", settings) == "hi"
    assert clean_text("x" * 5000, settings) == "x" * 5000
    for bad in ("", " \n\t ", "x" * 5001):
        with pytest.raises(BadUserInput):
            clean_text(bad, settings)


def test_the_factory_builds_each_provider(settings: Settings) -> None:
    names = {p: create_provider(p, settings, creds(key="k")).name for p in TtsProviderName}
    assert names == {p: p.value for p in TtsProviderName}
