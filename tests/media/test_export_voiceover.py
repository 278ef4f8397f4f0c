"""export_clip with a voice-over, measured on the output file with FFmpeg.

The clip's own audio is a 330 Hz tone (``still``); the voice stand-in is a 2 kHz tone
switched on and off at known times. Band-pass filters (two in a row, ~50 dB apart at the
other tone) separate the two in the mix, so the level of each is measured over time
windows: the original must drop by the requested dB exactly while the voice speaks and
come back in its pauses and after it; the voice must be there from its offset on.
Subtitles are compared frame by frame with renders without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ffmpeg
import pytest

from editai.media.binaries import Binaries
from editai.media.export import export_clip
from editai.media.export_text import chars_per_line
from editai.media.ffmpeg import run_ffmpeg
from editai.media.filter_scripts import with_filter_script
from editai.media.voiceover_mix import (
    ATTACK_SECONDS,
    MERGE_GAP_SECONDS,
    RELEASE_SECONDS,
    Phrase,
    TimedWord,
    VoiceoverMix,
    duck_expression,
    group_phrases,
    parse_silences,
    speech_spans,
    words_from_json,
)
from tests.media import measure

ORIGINAL_HZ, VOICE_HZ = 330, 2000
# The voice file: 3.2 s, speaking 0.3-1.0 s and 2.2-2.8 s (a 1.2 s pause in between).
# Silences shorter than MIN_PAUSE_SECONDS count as speech, so it ends with a longer one.
VOICE_SPEECH = ((0.3, 1.0), (2.2, 2.8))
VOICE_SECONDS = 3.2
W, H = 320, 180


async def make_voice(binaries: Binaries, out: Path, channels: int = 1) -> Path:
    on = "+".join(f"between(t,{a},{b})" for a, b in VOICE_SPEECH)
    expr = f"0.25*sin(2*PI*{VOICE_HZ}*t)*({on})"
    graph = f"aevalsrc=exprs='{expr}':d={VOICE_SECONDS}:s=48000"
    args = ffmpeg.input(graph, f="lavfi").output(str(out), acodec="aac", ac=channels).get_args()
    await run_ffmpeg(binaries, args)
    return out


@pytest.fixture(scope="session")
async def voice(binaries: Binaries, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return await make_voice(binaries, tmp_path_factory.mktemp("voice") / "voice.m4a")


async def export(
    binaries: Binaries, source: Path, out: Path, voice: VoiceoverMix | None, **kwargs: Any
) -> Path:
    args: dict[str, Any] = {
        "height": H,
        "subtitle_text": None,
        "mute_ranges": [],
        "duration": 4.0,
        "work_dir": out.parent,
        "preset": "ultrafast",
        "voiceover": voice,
    }
    args.update(kwargs)
    await export_clip(binaries, source, out, **args)
    return out


# --- pure helpers ---------------------------------------------------------------------


def test_words_are_cleaned_and_malformed_ones_skipped() -> None:
    raw: list[Any] = [
        {"text": "late", "start": 2.0, "end": 2.5},
        {"text": " a\x00b\n", "start": 0.5, "end": 0.4},  # end before start: clamped
        {"text": "\t", "start": 1.0, "end": 1.2},  # nothing visible
        {"text": "x", "start": "nan", "end": 1.0},
        {"text": "y", "start": -1.0, "end": 1.0},
        {"start": 1.0, "end": 2.0},
        "not a dict",
    ]
    assert words_from_json(raw) == (TimedWord("a b", 0.5, 0.5), TimedWord("late", 2.0, 2.5))


def test_phrases_break_on_count_length_sentence_end_and_pause() -> None:
    def w(text: str, start: float, end: float) -> TimedWord:
        return TimedWord(text, start, end)

    words = [
        w("one", 0.0, 0.2), w("two", 0.2, 0.4), w("three", 0.4, 0.6), w("four", 0.6, 0.8),
        w("five", 0.8, 1.0), w("six", 1.0, 1.2),  # six words: five, then one
        w("Stop.", 1.3, 1.5), w("Go", 1.5, 1.7),  # sentence end
        w("after", 2.5, 2.8),  # a pause of 0.8 s
        w("a-very-long-word", 2.8, 3.0), w("another-long-one", 3.0, 3.2),  # > 25 chars
    ]  # fmt: skip
    phrases = group_phrases(words, offset=1.0, clip_seconds=100.0, max_chars=25)
    assert [p.text for p in phrases] == [
        "one two three four five",
        "six Stop.",
        "Go",
        "after a-very-long-word",
        "another-long-one",
    ]
    assert phrases[0] == Phrase("one two three four five", 1.0, 2.0)


def test_phrase_times_follow_the_words_plus_offset_and_stop_at_the_clip_end() -> None:
    words = [
        TimedWord("Hello", 0.3, 0.6),
        TimedWord("world.", 0.6, 1.0),
        TimedWord("Next", 0.9, 1.4),  # overlaps the previous phrase's end
        TimedWord("cut", 2.0, 3.0),
        TimedWord("gone", 3.6, 3.9),
    ]
    assert group_phrases(words, offset=0.5, clip_seconds=4.0) == [
        Phrase("Hello world.", 0.8, 1.4),  # ends where the next phrase starts
        Phrase("Next", 1.4, 1.9),
        Phrase("cut", 2.5, 3.5),
    ]
    assert group_phrases(words, offset=1.0, clip_seconds=3.2)[-1] == Phrase("cut", 3.0, 3.2)
    assert group_phrases([TimedWord("  ", 0, 1)], offset=0, clip_seconds=4) == []


def test_speech_spans_from_silencedetect_output() -> None:
    lines = [
        "[silencedetect @ 0x1] silence_start: 0",
        "[silencedetect @ 0x1] silence_end: 0.3 | silence_duration: 0.3",
        "[silencedetect @ 0x1] silence_start: 1.0",
        "[silencedetect @ 0x1] silence_end: 1.5 | silence_duration: 0.5",  # < merge gap
        "[silencedetect @ 0x1] silence_start: 2.0",
        "[silencedetect @ 0x1] silence_end: 3.2 | silence_duration: 1.2",
        "[silencedetect @ 0x1] silence_start: 3.6",  # open to the end
    ]
    silences = parse_silences(lines, 4.0)
    assert silences == [(0.0, 0.3), (1.0, 1.5), (2.0, 3.2), (3.6, 4.0)]
    assert speech_spans(silences, 4.0) == [(0.3, 2.0), (3.2, 3.6)]
    assert speech_spans([], 2.0) == [(0.0, 2.0)]
    assert speech_spans([(0.0, 2.0)], 2.0) == []


def test_duck_expression_is_none_without_ducking_or_speech() -> None:
    assert duck_expression([(1.0, 2.0)], 0.0) is None
    assert duck_expression([], 12.0) is None
    expr = duck_expression([(1.0, 2.0), (4.0, 5.0)], 20.0)
    assert expr is not None
    assert expr.startswith("1-0.900000*(")
    assert MERGE_GAP_SECONDS >= ATTACK_SECONDS + RELEASE_SECONDS


def test_long_filter_graphs_go_through_a_file(tmp_path: Path) -> None:
    short = ["-i", "a.mp4", "-filter_complex", "[0:v]null[v]", "-map", "[v]", "o.mp4"]
    assert with_filter_script(short, tmp_path) == short
    long = [*short[:3], "x" * 40_000, *short[4:]]
    moved = with_filter_script(long, tmp_path)
    assert moved[2] == "-filter_complex_script"
    assert Path(moved[3]).read_text() == "x" * 40_000
    assert moved[:2] + moved[4:] == short[:2] + short[4:]


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"start_seconds": 4.0}, "start within the clip"),
        ({"start_seconds": -0.1}, "start within the clip"),
        ({"start_seconds": float("inf")}, "start within the clip"),
        ({"ducking_db": 41.0}, "between 0 and 40"),
        ({"ducking_db": -1.0}, "between 0 and 40"),
        ({"path": Path("/nonexistent/voice.m4a")}, "does not exist"),
    ],
)
async def test_bad_voiceover_settings_are_refused_before_any_work(
    binaries: Binaries,
    media: dict[str, Path],
    voice: Path,
    tmp_path: Path,
    change: dict[str, Any],
    message: str,
) -> None:
    spec = VoiceoverMix(**{"path": voice, **change})
    out = tmp_path / "never.mp4"
    with pytest.raises(ValueError, match=message):
        await export(binaries, media["still"], out, spec)
    assert measure.names_in(tmp_path) == []


# --- mixing and ducking ---------------------------------------------------------------------


@pytest.mark.parametrize("ducking_db", [6.0, 12.0, 24.0])
async def test_original_is_ducked_while_the_voice_speaks_and_returns_after(
    binaries: Binaries, media: dict[str, Path], voice: Path, tmp_path: Path, ducking_db: float
) -> None:
    offset = 0.5  # the voice speaks 0.8-1.5 s and 2.7-3.3 s of the clip
    seen: list[float] = []

    async def progress(value: float) -> None:
        seen.append(value)

    out = await export(
        binaries, media["still"], tmp_path / "mixed.mp4",
        VoiceoverMix(voice, start_seconds=offset, ducking_db=ducking_db), on_progress=progress,
    )  # fmt: skip
    (a1, b1), (a2, b2) = ((a + offset, b + offset) for a, b in VOICE_SPEECH)
    # Windows clear of the ramps (attack before a span, release after it).
    before = (0.05, a1 - ATTACK_SECONDS - 0.1)
    speaking = [(a1 + 0.05, b1 - a1 - 0.1), (a2 + 0.05, b2 - a2 - 0.1)]
    pause = (b1 + RELEASE_SECONDS + 0.05, a2 - ATTACK_SECONDS - (b1 + RELEASE_SECONDS) - 0.1)
    after = (b2 + RELEASE_SECONDS + 0.05, 4.0 - (b2 + RELEASE_SECONDS) - 0.1)
    assert pause[1] >= 0.25
    assert after[1] >= 0.2

    level = await measure.band_level(binaries, out, before[0], before[1] - before[0], ORIGINAL_HZ)
    for start, seconds in speaking:
        ducked = await measure.band_level(binaries, out, start, seconds, ORIGINAL_HZ)
        assert abs((level - ducked) - ducking_db) <= 1.0, (level, ducked)
        assert await measure.band_level(binaries, out, start, seconds, VOICE_HZ) > level - 6
    for start, seconds in (pause, after):
        back = await measure.band_level(binaries, out, start, seconds, ORIGINAL_HZ)
        assert abs(back - level) <= 0.5, (level, back, start)
        # The voice is silent there, the original has its level back.
        assert await measure.band_level(binaries, out, start, seconds, VOICE_HZ) < level - 40
    # Nothing of the voice before its offset.
    assert await measure.band_level(binaries, out, 0.0, offset, VOICE_HZ) < level - 40

    fmt, streams = await measure.streams(binaries, out)
    audio = next(s for s in streams if s["codec_type"] == "audio")
    assert audio["channels"] == 1  # mono clip + mono voice stay mono
    assert abs(float(fmt["duration"]) - 4.0) <= 0.05
    assert abs(await measure.integrated_loudness(binaries, out) + 14.0) <= 1.5
    assert seen == sorted(seen)
    assert seen[-1] == 1.0
    assert measure.names_in(tmp_path) == ["mixed.mp4"]  # no leftovers in the work dir


async def test_zero_ducking_leaves_the_original_level_alone(
    binaries: Binaries, media: dict[str, Path], voice: Path, tmp_path: Path
) -> None:
    out = await export(
        binaries, media["still"], tmp_path / "flat.mp4", VoiceoverMix(voice, 0.5, ducking_db=0)
    )
    level = await measure.band_level(binaries, out, 0.05, 0.4, ORIGINAL_HZ)
    assert abs(await measure.band_level(binaries, out, 0.85, 0.6, ORIGINAL_HZ) - level) <= 0.5
    assert await measure.band_level(binaries, out, 0.85, 0.6, VOICE_HZ) > level - 6


async def test_voice_longer_than_the_rest_of_the_clip_is_cut_at_its_end(
    binaries: Binaries, media: dict[str, Path], voice: Path, tmp_path: Path
) -> None:
    out = await export(
        binaries, media["still"], tmp_path / "late.mp4", VoiceoverMix(voice, start_seconds=3.5)
    )  # speaks from 3.8 s; the clip ends at 4.0, the voice file would run to 6.5
    fmt, streams = await measure.streams(binaries, out)
    assert abs(float(fmt["duration"]) - 4.0) <= 0.05
    for stream in streams:
        assert abs(float(stream["duration"]) - 4.0) <= 0.05, stream
    level = await measure.band_level(binaries, out, 0.2, 3.0, ORIGINAL_HZ)
    assert await measure.band_level(binaries, out, 3.82, 0.15, VOICE_HZ) > level - 6
    assert await measure.band_level(binaries, out, 0.0, 3.7, VOICE_HZ) < level - 40


async def test_clip_without_audio_gets_the_voice_alone(
    binaries: Binaries, media: dict[str, Path], voice: Path, tmp_path: Path
) -> None:
    out = await export(
        binaries, media["no_audio"], tmp_path / "voiced.mp4", VoiceoverMix(voice, 1.0)
    )
    fmt, streams = await measure.streams(binaries, out)
    assert [s["codec_type"] for s in streams] == ["video", "audio"]
    audio = streams[1]
    assert (audio["codec_name"], audio["channels"], int(audio["sample_rate"])) == ("aac", 1, 48000)
    assert abs(float(fmt["duration"]) - 4.0) <= 0.05
    assert abs(float(audio["duration"]) - 4.0) <= 0.05  # padded to the clip's length
    assert await measure.max_volume(binaries, out, 0.0, 1.25) <= -80  # before the voice speaks
    assert await measure.max_volume(binaries, out, 1.4, 0.5) > -20  # the voice, normalized
    assert await measure.max_volume(binaries, out, 2.1, 0.95) <= -80  # its pause


async def test_stereo_clip_and_mono_voice_mix_to_stereo(
    binaries: Binaries, media: dict[str, Path], voice: Path, tmp_path: Path
) -> None:
    out = await export(
        binaries, media["loud_noise"], tmp_path / "stereo.mp4", VoiceoverMix(voice, 1.0),
        duration=6.0,
    )  # fmt: skip
    fmt, streams = await measure.streams(binaries, out)
    audio = next(s for s in streams if s["codec_type"] == "audio")
    assert audio["channels"] == 2
    assert abs(float(fmt["duration"]) - 6.0) <= 0.05
    # White noise ducked by the default 12 dB in its 330 Hz band while the voice speaks.
    level = await measure.band_level(binaries, out, 0.1, 1.0, ORIGINAL_HZ)
    ducked = await measure.band_level(binaries, out, 1.35, 0.6, ORIGINAL_HZ)
    assert abs((level - ducked) - 12.0) <= 1.5, (level, ducked)


# --- subtitles ----------------------------------------------------------------------------

HOSTILE = ("%{pts}", "'q':", "C:\\x\\", "[x];", "%%")
WORDS = (
    TimedWord("Hello", 0.3, 0.6),
    TimedWord("there", 0.6, 0.9),
    TimedWord("friend.", 0.9, 1.2),
    *(TimedWord(text, 1.8 + 0.1 * i, 1.9 + 0.1 * i) for i, text in enumerate(HOSTILE)),
)
OFFSET = 0.5  # phrase A "Hello there friend." 0.8-1.7 s, phrase B (hostile) 2.3-2.8 s


async def test_phrases_are_shown_only_while_spoken_and_drawn_literally(
    binaries: Binaries, media: dict[str, Path], voice: Path, tmp_path: Path
) -> None:
    still = media["still"]
    plain = await export(
        binaries, still, tmp_path / "plain.mp4", VoiceoverMix(voice, OFFSET, subtitles=False)
    )
    titled = await export(
        binaries, still, tmp_path / "titled.mp4", VoiceoverMix(voice, OFFSET, words=WORDS)
    )
    assert measure.names_in(tmp_path) == ["plain.mp4", "titled.mp4"]  # text files removed
    bottom, top = range(H * 2 // 3, H), range(0, H // 2)

    async def frames(path: Path, at: float) -> bytes:
        return await measure.gray_frame(binaries, path, at, W, H, tmp_path)

    # Outside every phrase (before, between, after): the picture is untouched.
    for at in (0.4, 2.0, 3.2):
        diff = measure.region_diff(await frames(plain, at), await frames(titled, at), W, bottom)
        assert diff < 1, at
    # Inside: text at the bottom, never at the top.
    shown = {at: await frames(titled, at) for at in (1.0, 1.5, 2.4, 2.7)}
    for at, frame in shown.items():
        reference = await frames(plain, at)
        assert measure.region_diff(reference, frame, W, bottom) > 3, at
        assert measure.region_diff(reference, frame, W, top) < 1, at
    # One phrase stays the same while shown (nothing expands with time, not "%{pts}"),
    # and the two phrases differ.
    assert measure.region_diff(shown[1.0], shown[1.5], W, bottom) < 1
    assert measure.region_diff(shown[2.4], shown[2.7], W, bottom) < 1
    assert measure.region_diff(shown[1.0], shown[2.4], W, bottom) > 5

    # Each phrase looks exactly like the same text burned in statically (that path is
    # known to draw literally): quotes, colons, backslashes, brackets, % are drawn as typed.
    for at, text in ((1.0, "Hello there friend."), (2.4, " ".join(HOSTILE))):
        static = await export(binaries, still, tmp_path / "static.mp4", None, subtitle_text=text)
        assert measure.region_diff(await frames(static, at), shown[at], W, bottom) < 1, text
        static.unlink()


async def test_static_text_moves_to_the_top_beside_voice_subtitles(
    binaries: Binaries, media: dict[str, Path], voice: Path, tmp_path: Path
) -> None:
    still = media["still"]
    plain = await export(
        binaries, still, tmp_path / "plain.mp4", VoiceoverMix(voice, OFFSET, subtitles=False)
    )
    both = await export(
        binaries, still, tmp_path / "both.mp4", VoiceoverMix(voice, OFFSET, words=WORDS),
        subtitle_text="Title: 100%",
    )  # fmt: skip
    top, bottom = range(0, H // 3), range(H * 2 // 3, H)
    for at, phrase_shown in ((0.4, False), (1.0, True), (2.0, False)):
        reference = await measure.gray_frame(binaries, plain, at, W, H, tmp_path)
        frame = await measure.gray_frame(binaries, both, at, W, H, tmp_path)
        assert measure.region_diff(reference, frame, W, top) > 2, at  # the title, always
        assert (measure.region_diff(reference, frame, W, bottom) > 3) is phrase_shown, at


async def test_many_phrases_go_through_a_filter_script(
    binaries: Binaries, media: dict[str, Path], voice: Path, tmp_path: Path
) -> None:
    # 160 one-word sentences: a graph far over one command-line argument's budget.
    words = tuple(TimedWord(f"w{i}.", 0.025 * i, 0.025 * (i + 1)) for i in range(160))
    assert len(group_phrases(words, offset=0.0, clip_seconds=4.0)) == 160
    assert chars_per_line(W, 12) >= 8
    plain = await export(binaries, media["still"], tmp_path / "plain.mp4", None)
    out = await export(
        binaries, media["still"], tmp_path / "many.mp4", VoiceoverMix(voice, 0.0, words=words)
    )
    assert measure.names_in(tmp_path) == ["many.mp4", "plain.mp4"]  # script and texts removed
    a = await measure.gray_frame(binaries, plain, 2.0, W, H, tmp_path)
    b = await measure.gray_frame(binaries, out, 2.0, W, H, tmp_path)
    assert measure.region_diff(a, b, W, range(H * 2 // 3, H)) > 1  # a short word
    fmt, _ = await measure.streams(binaries, out)
    assert abs(float(fmt["duration"]) - 4.0) <= 0.05
