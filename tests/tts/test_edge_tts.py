"""EdgeTtsProvider against the fake Edge speech service, over real TLS WebSockets.

The provider reaches the fake through ``edge_tts_connect_to`` and trusts its test CA
through ``edge_tts_ca_file``; the certificate is for speech.platform.bing.com, and TLS
really checks it (see the tests without the CA and with a wrong name).
"""

from __future__ import annotations

import array
import asyncio
import socket
import time
from pathlib import Path

import pytest
from edge_tts.constants import TRUSTED_CLIENT_TOKEN

from editai.integrations.errors import (
    ProviderError,
    ProviderRequestError,
    ProviderUnavailable,
)
from editai.media.binaries import Binaries
from editai.tts.providers.base import Speech
from editai.tts.providers.edge import EdgeTtsProvider
from tests.conftest import make_settings
from tests.fakes.edge_tts import (
    SAMPLE_RATE,
    TICKS_PER_SECOND,
    FakeEdgeTts,
    TlsFiles,
    Turn,
    make_tls_files,
    spoken_words,
)
from tests.fakes.server import RunningServer, serve_app
from tests.filesystem import files_under

pytestmark = pytest.mark.timeout(60)

VOICE = "en-US-AriaNeural"


def make_provider(tmp_path: Path, port: int, **overrides: object) -> EdgeTtsProvider:
    values: dict[str, object] = {
        "edge_tts_connect_to": f"127.0.0.1:{port}",
        "provider_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return EdgeTtsProvider(make_settings(tmp_path, "sqlite+aiosqlite:///unused.db", **values))


@pytest.fixture
def provider(tmp_path: Path, server: RunningServer, tls: TlsFiles) -> EdgeTtsProvider:
    return make_provider(tmp_path, server.port, edge_tts_ca_file=tls.ca_file)


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


async def decode(binaries: Binaries, path: Path) -> array.array[int]:
    """The MP3 decoded by FFmpeg to 24 kHz mono 16-bit samples."""
    process = await asyncio.create_subprocess_exec(
        binaries.ffmpeg,
        *("-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path)),
        *("-f", "s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "pipe:1"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode(errors="replace")
    samples = array.array("h")
    samples.frombytes(out)
    return samples


def rms(samples: array.array[int], start: float, end: float) -> float:
    window = samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
    assert len(window) > 0
    return float((sum(v * v for v in window) / len(window)) ** 0.5)


def expected_words(turns: list[Turn]) -> list[tuple[str, float, float]]:
    """What the fake sent, in seconds; later turns start where earlier audio ended."""
    result, shift = [], 0.0
    for turn in turns:
        for word in turn.words:
            start = shift + word.offset / TICKS_PER_SECOND
            result.append((word.text, start, start + word.duration / TICKS_PER_SECOND))
        shift += turn.audio_seconds
    return result


def assert_words_match(speech: Speech, turns: list[Turn]) -> None:
    got = [(w.text, w.start, w.end) for w in speech.words]
    want = expected_words(turns)
    assert [text for text, _, _ in got] == [text for text, _, _ in want]
    for (_, start, end), (_, want_start, want_end) in zip(got, want, strict=True):
        assert start == pytest.approx(want_start, abs=1e-6)
        assert end == pytest.approx(want_end, abs=1e-6)
    for before, after in zip(speech.words, speech.words[1:], strict=False):
        assert before.start < before.end <= after.start


def assert_safe(error: ProviderError) -> None:
    assert error.provider == "Edge TTS"
    assert "Sec-MS-GEC" not in error.message
    assert TRUSTED_CLIENT_TOKEN not in error.message


async def test_speech_with_word_timings(
    provider: EdgeTtsProvider,
    fake: FakeEdgeTts,
    binaries: Binaries,
    work_dir: Path,
) -> None:
    text = "Hello there, brave new world."
    speech = await provider.synthesize(text, VOICE, work_dir)

    assert speech.audio_path.parent == work_dir
    assert speech.audio_path.suffix == ".mp3"
    assert speech.billed_characters is None

    # What the service received: Edge's query, a config asking for word boundaries, SSML.
    [connection] = fake.connections
    assert connection.refused_status is None
    assert connection.query["TrustedClientToken"] == TRUSTED_CLIENT_TOKEN
    assert connection.headers["origin"] == "chrome-extension://jdiccldimpdaibmpdkjnbmckianbfold"
    assert connection.config is not None
    audio_config = connection.config["context"]["synthesis"]["audio"]
    assert audio_config["metadataoptions"]["wordBoundaryEnabled"] == "true"
    assert audio_config["outputFormat"] == "audio-24khz-48kbitrate-mono-mp3"
    [turn] = connection.turns
    assert turn.voice == VOICE
    assert turn.text == text

    # Word timings: exactly what the fake sent, in seconds, in order.
    assert [w.text for w in speech.words] == ["Hello", "there", "brave", "new", "world"]
    assert_words_match(speech, [turn])

    # The file holds every audio byte sent, and FFmpeg decodes it to the right length.
    assert speech.audio_path.stat().st_size == turn.audio_bytes
    samples = await decode(binaries, speech.audio_path)
    assert len(samples) / SAMPLE_RATE == pytest.approx(turn.audio_seconds, abs=0.03)
    spoken = fake.lead_seconds + 5 * (fake.word_seconds + fake.gap_seconds) + fake.gap_seconds
    assert len(samples) / SAMPLE_RATE == pytest.approx(spoken, abs=0.1)
    # ... and the timings are where the words are heard (MP3 adds ~50 ms of delay).
    for word in speech.words:
        assert rms(samples, word.start + 0.08, word.end - 0.02) > 3000, word
        assert rms(samples, word.end + 0.12, word.end + fake.gap_seconds - 0.02) < 300, word


async def test_text_is_escaped_in_ssml(
    provider: EdgeTtsProvider, fake: FakeEdgeTts, work_dir: Path
) -> None:
    text = """Tom & Jerry <3 "double" and 'single' a>b"""
    speech = await provider.synthesize(text, "de-DE-KatjaNeural", work_dir)

    [turn] = fake.turns
    assert turn.voice == "de-DE-KatjaNeural"
    assert turn.text == text  # the SSML parsed back to exactly our text
    assert "Tom &amp; Jerry &lt;3" in turn.ssml
    assert "a&gt;b" in turn.ssml
    assert [w.text for w in speech.words] == spoken_words(text)
    assert [w.text for w in speech.words][1:3] == ["&", "Jerry"]
    assert_words_match(speech, [turn])


async def test_long_text_spans_turns(
    binaries: Binaries, tls: TlsFiles, tmp_path: Path, work_dir: Path
) -> None:
    # edge-tts sends at most 4096 bytes of SSML text per turn, one connection each.
    fake = FakeEdgeTts(binaries, lead_seconds=0.05, word_seconds=0.04, gap_seconds=0.02)
    words = [f"word{index:03d}" for index in range(600)]
    text = " ".join(words)
    assert len(text.encode()) > 4096
    async with serve_app(fake.app, ssl_certfile=tls.cert_file, ssl_keyfile=tls.key_file) as s:
        provider = make_provider(tmp_path, s.port, edge_tts_ca_file=tls.ca_file)
        speech = await provider.synthesize(text, VOICE, work_dir)

    turns = fake.turns
    assert len(fake.connections) == len(turns) == 2
    assert " ".join(turn.text for turn in turns) == text
    assert [w.text for w in speech.words] == words
    assert_words_match(speech, turns)
    # The second turn's timings follow the first turn's audio.
    assert speech.words[len(turns[0].words)].start > turns[0].audio_seconds
    samples = await decode(binaries, speech.audio_path)
    total = sum(turn.audio_seconds for turn in turns)
    assert len(samples) / SAMPLE_RATE == pytest.approx(total, abs=0.05)


@pytest.mark.parametrize(
    "voice",
    [
        "",
        "AriaNeural",
        "en-US-Aria",
        "en_US_AriaNeural",
        "en-US-AriaNeural'/><voice name='x",
        "Microsoft Server Speech Text to Speech Voice (en-US, Aria'Neural)",
        "Microsoft Server Speech Text to Speech Voice (en-US,AriaNeural)",
        "en-US-" + "A" * 200 + "Neural",
    ],
)
async def test_bad_voice_name_refused_before_connecting(
    provider: EdgeTtsProvider, fake: FakeEdgeTts, work_dir: Path, voice: str
) -> None:
    with pytest.raises(ProviderRequestError) as caught:
        await provider.synthesize("Hello", voice, work_dir)
    assert "voice name" in caught.value.message
    assert not caught.value.retryable
    assert fake.connections == []
    assert files_under(work_dir) == []


@pytest.mark.parametrize(
    ("voice", "short"),
    [
        ("zh-CN-shaanxi-XiaoniNeural", "zh-CN-shaanxi-XiaoniNeural"),
        ("Microsoft Server Speech Text to Speech Voice (en-US, GuyNeural)", "en-US-GuyNeural"),
    ],
)
async def test_other_voice_forms(
    provider: EdgeTtsProvider, fake: FakeEdgeTts, work_dir: Path, voice: str, short: str
) -> None:
    speech = await provider.synthesize("Hi there", voice, work_dir)
    assert [turn.voice for turn in fake.turns] == [short]
    assert [w.text for w in speech.words] == ["Hi", "there"]


async def test_unknown_voice_closed_by_service(
    provider: EdgeTtsProvider, fake: FakeEdgeTts, work_dir: Path
) -> None:
    with pytest.raises(ProviderRequestError) as caught:
        await provider.synthesize("Hello", "en-US-NobodyNeural", work_dir)
    assert "unknown voice" in caught.value.message
    assert_safe(caught.value)
    [connection] = fake.connections
    assert connection.closed_by_server == "unsupported voice"
    assert connection.turns[0].voice == "en-US-NobodyNeural"
    assert files_under(work_dir) == []  # no partial file left behind


async def test_wrong_token_refused(
    provider: EdgeTtsProvider, fake: FakeEdgeTts, work_dir: Path
) -> None:
    fake.refuse_all = True
    with pytest.raises(ProviderRequestError) as caught:
        await provider.synthesize("Hello", VOICE, work_dir)
    assert caught.value.status == 403
    assert "HTTP 403" in caught.value.message
    assert_safe(caught.value)
    # edge-tts corrects its clock from the 403's Date and tries once more.
    assert [c.refused_status for c in fake.connections] == [403, 403]
    assert files_under(work_dir) == []


async def test_clock_skew_corrected_from_server_date(
    provider: EdgeTtsProvider, fake: FakeEdgeTts, work_dir: Path
) -> None:
    # The service's clock is an hour ahead: our first token is for the wrong window.
    fake.clock_offset_seconds = 3600
    speech = await provider.synthesize("Hello world", VOICE, work_dir)
    assert [c.refused_status for c in fake.connections] == [403, None]
    assert [w.text for w in speech.words] == ["Hello", "world"]


@pytest.mark.parametrize(
    ("close_at", "error", "words"),
    [
        ("accept", ProviderRequestError, "without sending audio"),
        ("config", ProviderRequestError, "without sending audio"),
        ("mid-audio", ProviderUnavailable, "before the speech was complete"),
    ],
)
async def test_service_closing_gives_readable_error(
    provider: EdgeTtsProvider,
    fake: FakeEdgeTts,
    work_dir: Path,
    close_at: str,
    error: type[ProviderError],
    words: str,
) -> None:
    fake.close_at = close_at  # type: ignore[assignment]
    with pytest.raises(error) as caught:
        await provider.synthesize("One two three four five six", VOICE, work_dir)
    assert words in caught.value.message
    assert_safe(caught.value)
    assert fake.connections[0].closed_by_server is not None
    assert files_under(work_dir) == []


async def test_silent_service_times_out(
    tmp_path: Path, server: RunningServer, fake: FakeEdgeTts, tls: TlsFiles, work_dir: Path
) -> None:
    fake.stall = True
    provider = make_provider(
        tmp_path, server.port, edge_tts_ca_file=tls.ca_file, provider_timeout_seconds=0.5
    )
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.synthesize("Hello", VOICE, work_dir)
    assert time.monotonic() - started < 5
    assert "did not answer within 0.5 s" in caught.value.message
    assert caught.value.retryable
    assert len(fake.turns) == 1
    assert files_under(work_dir) == []


async def test_tls_is_verified_without_the_ca(
    tmp_path: Path, server: RunningServer, fake: FakeEdgeTts, work_dir: Path
) -> None:
    provider = make_provider(tmp_path, server.port)  # the fake's CA not trusted
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.synthesize("Hello", VOICE, work_dir)
    assert "certificate" in caught.value.message
    assert_safe(caught.value)
    assert fake.connections == []  # the handshake never reached the service


async def test_tls_checks_the_host_name(binaries: Binaries, tmp_path: Path, work_dir: Path) -> None:
    # A certificate from the trusted CA, but for another name.
    other = make_tls_files(tmp_path / "other-tls", hostname="speech.example.com")
    fake = FakeEdgeTts(binaries)
    async with serve_app(fake.app, ssl_certfile=other.cert_file, ssl_keyfile=other.key_file) as s:
        provider = make_provider(tmp_path, s.port, edge_tts_ca_file=other.ca_file)
        with pytest.raises(ProviderUnavailable) as caught:
            await provider.synthesize("Hello", VOICE, work_dir)
    assert "certificate" in caught.value.message
    assert fake.connections == []


async def test_unreachable_service(tmp_path: Path, tls: TlsFiles, work_dir: Path) -> None:
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = make_provider(tmp_path, port, edge_tts_ca_file=tls.ca_file)
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.synthesize("Hello", VOICE, work_dir)
    assert caught.value.message == "Edge TTS is unreachable"


@pytest.mark.parametrize("connect_to", ["127.0.0.1", "127.0.0.1:http", ":443", "host:70000"])
async def test_bad_connect_to_setting(tmp_path: Path, work_dir: Path, connect_to: str) -> None:
    provider = EdgeTtsProvider(
        make_settings(tmp_path, "sqlite+aiosqlite:///unused.db", edge_tts_connect_to=connect_to)
    )
    with pytest.raises(ProviderRequestError) as caught:
        await provider.synthesize("Hello", VOICE, work_dir)
    assert "EDITAI_EDGE_TTS_CONNECT_TO" in caught.value.message


async def test_unreadable_ca_file(tmp_path: Path, work_dir: Path) -> None:
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("not a certificate")
    provider = EdgeTtsProvider(
        make_settings(tmp_path, "sqlite+aiosqlite:///unused.db", edge_tts_ca_file=bad)
    )
    with pytest.raises(ProviderRequestError) as caught:
        await provider.synthesize("Hello", VOICE, work_dir)
    assert "EDITAI_EDGE_TTS_CA_FILE" in caught.value.message


def test_name_and_default_voice(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, "sqlite+aiosqlite:///unused.db", edge_tts_default_voice="en-GB-SoniaNeural"
    )
    provider = EdgeTtsProvider(settings)
    assert provider.name == "EDGE"
    assert provider.default_voice() == "en-GB-SoniaNeural"
