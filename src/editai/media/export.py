"""Exporting a clip for publishing: H.264/AAC MP4, scaled, loudness-normalized, optional
burned-in text, muted ranges and a voice-over.

* Video: ``scale`` to ``height`` with the width keeping the source's aspect, rounded to
  the nearest even number (:func:`export_size`); libx264 (``preset``, CRF ``crf``,
  yuv420p, High profile unless the preset forbids it); ``-movflags +faststart`` (the
  ``moov`` index precedes the media data, so players start before the download ends).
* Audio (when the source has any): first ``volume=0`` on the mute ranges
  (``volume=0:enable='between(t,a,b)+...'``, granularity one audio frame, ~21 ms), then
  EBU R128 normalization with two-pass ``loudnorm``: pass 1 measures
  (``print_format=json``, audio only), pass 2 applies the measured values with
  ``linear=true`` (one gain for the whole clip; FFmpeg falls back to its dynamic mode
  when a single gain would push true peaks over -1.5 dBTP or the range is too wide),
  then resamples to 48 kHz (mono stays mono, anything else becomes stereo); AAC
  160 kb/s. Digital silence is left as it is; the output is capped at the source's
  duration (loudnorm's dynamic mode pads its last 100 ms frame).
* Voice-over (:class:`~editai.media.voiceover_mix.VoiceoverMix`): the voice file is
  resampled to 48 kHz, cut where the clip ends (``atrim``: a voice longer than the rest
  of the clip is cut off, never sped up), delayed to its start in the clip (``adelay``)
  and padded to the clip's length (``apad``). The original audio (after its mute ranges,
  which do not apply to the voice) is ducked by ``ducking_db`` wherever the voice speaks
  (gain automation, see :mod:`editai.media.voiceover_mix`), and both are summed with
  ``amix=normalize=0`` (no level change from the mixer) *before* the two loudnorm
  passes, which therefore measure and normalize the mix; in linear mode the ducking
  depth survives exactly. Both are brought to one layout first: mono when both are mono,
  else stereo. A source without audio gets the voice alone.
* Text: ``subtitle_text`` is burned in at the bottom centre with ``drawtext``, one filter
  per line (wrapped to the frame width, at most :data:`MAX_SUBTITLE_LINES` lines), white
  with a black border on a translucent box. With voice-over subtitles, the voice's words
  go at the bottom instead, in short phrases (:func:`~editai.media.voiceover_mix.group_phrases`),
  each ``drawtext`` enabled only while its phrase is spoken
  (``enable='between(t,start,end)'``, times we format as numbers), and ``subtitle_text``
  moves to the top as a static title. All text goes through files (``textfile=``,
  ``expansion=none``), never through the filter graph, so quotes, colons, backslashes,
  ``%`` and ``%{...}`` are drawn literally and cannot inject filter options. A graph too
  long for one command-line argument (many phrases) is passed as a file
  (``-filter_complex_script``). Needs a TrueType font: ``font_file``, else
  :func:`find_font_file`.
* Captions (:mod:`editai.media.captions`): word-by-word, written as an ASS file and burned
  in by libass (``subtitles``) in the same encode, after the text; they take the place of
  the voice-over's phrases, and ``subtitle_text`` goes to the other end of the frame.

Inputs are validated first (ValueError with a readable message).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import shutil
import tempfile
import textwrap
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from editai.media.binaries import Binaries
from editai.media.captions.burn import CaptionRequest, burn_captions, write_captions
from editai.media.captions.layout import Frame
from editai.media.captions.style import CaptionPosition
from editai.media.ffmpeg import (
    ProgressCallback,
    probe_json,
    probe_video,
    run_ffmpeg,
    run_ffmpeg_stderr,
)
from editai.media.fonts import FontNotFoundError, find_font_file
from editai.media.voiceover_mix import (
    MAX_PHRASE_CHARS,
    VoiceoverMix,
    detect_speech,
    duck_expression,
    group_phrases,
    validate_voiceover,
)

MIN_HEIGHT, MAX_HEIGHT = 144, 2160
MAX_SUBTITLE_CHARS = 500
MAX_SUBTITLE_LINES = 3
TRUE_PEAK_DB = -1.5
LOUDNESS_RANGE = 11.0
MEASURE_SHARE = 0.2  # share of the progress bar for the loudness measurement pass
DEFAULT_PRESET = "veryfast"
DEFAULT_CRF = 20
AUDIO_RATE = 48_000
# Linux caps one command-line argument at 128 KiB; longer graphs go through a file.
FILTER_SCRIPT_OVER = 32_000


@dataclass(frozen=True, slots=True)
class TextLine:
    """One ``drawtext``: a file holding the line, its top y, and when it shows
    (``None``: always; else (start, end) seconds of the clip)."""

    path: Path
    y: int
    shown: tuple[float, float] | None = None


@dataclass(frozen=True, slots=True)
class VoicePlan:
    """A voice-over resolved for one clip: its file, its delay, the clip's length (the
    voice is cut there), the original's gain expression and the common channel layout."""

    path: Path
    start_seconds: float
    clip_seconds: float
    duck: str | None
    layout: str


@dataclass(frozen=True, slots=True)
class LoudnessMeasurement:
    input_i: float
    input_tp: float
    input_lra: float
    input_thresh: float
    target_offset: float

    @property
    def audible(self) -> bool:
        """False for (near) digital silence, which is left alone."""
        return math.isfinite(self.input_i) and self.input_i > -70.0


def _clamp(value: float, low: float, high: float) -> float:
    if math.isnan(value):
        return low
    return min(max(value, low), high)


# --- validation -------------------------------------------------------------------------


def validate_height(height: int) -> None:
    if isinstance(height, bool) or not isinstance(height, int):
        raise ValueError(f"height must be a whole number of pixels, got {height!r}")
    if not MIN_HEIGHT <= height <= MAX_HEIGHT:
        raise ValueError(f"height must be between {MIN_HEIGHT} and {MAX_HEIGHT}, got {height}")
    if height % 2:
        raise ValueError(f"height must be even, got {height}")


def validate_mute_ranges(
    mute_ranges: Sequence[tuple[float, float]], duration: float
) -> list[tuple[float, float]]:
    """Ranges must lie in [0, duration], each start < end, sorted and not overlapping."""
    checked: list[tuple[float, float]] = []
    for index, pair in enumerate(mute_ranges, start=1):
        try:
            start, end = (float(value) for value in pair)
        except (TypeError, ValueError):
            raise ValueError(f"mute range {index} must be a (start, end) pair") from None
        where = f"mute range {index} ({start:g}-{end:g} s)"
        if not (math.isfinite(start) and math.isfinite(end)):
            raise ValueError(f"{where} must use finite numbers")
        if start < 0 or end > duration + 1e-6:
            raise ValueError(f"{where} must lie within the clip (0-{duration:g} s)")
        if end <= start:
            raise ValueError(f"{where} must end after it starts")
        if checked and start < checked[-1][1]:
            raise ValueError(f"{where} must start after the previous range ends")
        checked.append((start, min(end, duration)))
    return checked


def clean_subtitle_text(text: str | None) -> str | None:
    """Text without control characters (newlines kept as breaks); None when empty."""
    if text is None:
        return None
    lines = [
        " ".join("".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in line).split())
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    cleaned = "\n".join(line for line in lines if line)
    if not cleaned:
        return None
    if len(cleaned) > MAX_SUBTITLE_CHARS:
        raise ValueError(f"subtitle text is longer than {MAX_SUBTITLE_CHARS} characters")
    return cleaned


# --- pure helpers -----------------------------------------------------------------------


def export_size(src_w: int, src_h: int, height: int) -> tuple[int, int]:
    """(width, height): ``height`` and the source's aspect, width rounded to even."""
    if src_w <= 0 or src_h <= 0:
        raise ValueError(f"source frame size {src_w}x{src_h} is invalid")
    width = max(2, 2 * round(src_w * height / src_h / 2))
    return width, height


def subtitle_font_size(height: int) -> int:
    return max(12, round(height * 0.06))


def chars_per_line(width: int, font_size: int) -> int:
    """Characters that fit ``width`` pixels (average glyph taken as 0.65 em)."""
    return max(8, int(width * 0.9 / (font_size * 0.65)))


def wrap_subtitle(text: str, width: int, font_size: int) -> list[str]:
    """Lines that fit ``width`` pixels; at most MAX_SUBTITLE_LINES, the last one cut with
    an ellipsis."""
    per_line = chars_per_line(width, font_size)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines += textwrap.wrap(paragraph, per_line, break_long_words=True) or [""]
    if len(lines) > MAX_SUBTITLE_LINES:
        lines = lines[:MAX_SUBTITLE_LINES]
        last = lines[-1]
        lines[-1] = (last[: per_line - 1] if len(last) >= per_line else last) + "…"
    return lines


def parse_loudnorm_json(stderr_lines: Sequence[str]) -> LoudnessMeasurement:
    """The JSON block loudnorm prints at the end of a ``print_format=json`` pass."""
    end = max((i for i, line in enumerate(stderr_lines) if line.strip() == "}"), default=-1)
    begin = max(
        (i for i, line in enumerate(stderr_lines[: end + 1]) if line.strip() == "{"), default=-1
    )
    if begin < 0 or end < begin:
        raise ValueError("loudnorm printed no measurement")
    data: dict[str, Any] = json.loads("\n".join(stderr_lines[begin : end + 1]))

    def number(key: str) -> float:
        try:
            return float(data[key])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"loudnorm measurement lacks {key}") from None

    return LoudnessMeasurement(
        input_i=number("input_i"),
        input_tp=number("input_tp"),
        input_lra=number("input_lra"),
        input_thresh=number("input_thresh"),
        target_offset=number("target_offset"),
    )


def _mute(audio: Any, mute_ranges: Sequence[tuple[float, float]]) -> Any:
    if not mute_ranges:
        return audio
    enable = "+".join(f"between(t,{a:.3f},{b:.3f})" for a, b in mute_ranges)
    return audio.filter("volume", volume=0, enable=enable)


def _audio_before_loudnorm(
    src: Any, has_audio: bool, mute_ranges: Sequence[tuple[float, float]], voice: VoicePlan | None
) -> Any:
    """The clip's (muted) audio, or its mix with the voice-over (see the module docstring)."""
    if voice is None:
        return _mute(src["a:0"], mute_ranges)
    spoken = (
        ffmpeg.input(str(voice.path))["a:0"]
        .filter("aresample", AUDIO_RATE)
        .filter("aformat", sample_rates=AUDIO_RATE, channel_layouts=voice.layout)
        .filter("atrim", end=f"{voice.clip_seconds - voice.start_seconds:.6f}")
    )
    if voice.start_seconds > 0:
        delay = round(voice.start_seconds * AUDIO_RATE)
        spoken = spoken.filter("adelay", delays=f"{delay}S", all=1)
    spoken = spoken.filter("apad", whole_dur=f"{voice.clip_seconds:.6f}")
    if not has_audio:
        return spoken
    original = (
        _mute(src["a:0"], mute_ranges)
        .filter("aresample", AUDIO_RATE)
        .filter("aformat", sample_rates=AUDIO_RATE, channel_layouts=voice.layout)
    )
    if voice.duck is not None:
        original = original.filter("volume", volume=voice.duck, eval="frame")
    return ffmpeg.filter([original, spoken], "amix", inputs=2, duration="longest", normalize=0)


def build_measure_args(
    source: Path,
    mute_ranges: Sequence[tuple[float, float]],
    loudness_target: float,
    voice: VoicePlan | None = None,
    has_audio: bool = True,
) -> list[str]:
    src = ffmpeg.input(str(source))
    audio = _audio_before_loudnorm(src, has_audio, mute_ranges, voice).filter(
        "loudnorm",
        I=loudness_target,
        TP=TRUE_PEAK_DB,
        LRA=LOUDNESS_RANGE,
        print_format="json",
    )
    return list(ffmpeg.output(audio, "-", format="null").get_args())


def build_export_args(
    source: Path,
    out: Path,
    *,
    size: tuple[int, int],
    max_seconds: float | None = None,
    has_audio: bool,
    mute_ranges: Sequence[tuple[float, float]],
    loudness_target: float,
    measurement: LoudnessMeasurement | None,
    text_lines: Sequence[TextLine] = (),
    font_file: Path | None = None,
    font_size: int = 0,
    voice: VoicePlan | None = None,
    captions_file: Path | None = None,
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
) -> list[str]:
    """``captions_file``: an ASS file burned in with ``font_file``'s folder. ``text_lines``:
    one per drawn line, already wrapped. With ``voice``, the output has
    audio even when the source has none."""
    src = ffmpeg.input(str(source))
    width, height = size
    video = src["v:0"].filter("scale", w=width, h=height).filter("setsar", "1")
    for line in text_lines:
        timing: dict[str, str] = {}
        if line.shown is not None:
            timing["enable"] = f"between(t,{line.shown[0]:.3f},{line.shown[1]:.3f})"
        video = video.filter(
            "drawtext",
            fontfile=str(font_file),
            textfile=str(line.path),
            expansion="none",
            fontsize=font_size,
            fontcolor="white",
            borderw=max(1, font_size // 12),
            bordercolor="black",
            box=1,
            boxcolor="black@0.45",
            boxborderw=max(2, font_size // 5),
            x="(w-text_w)/2",
            y=line.y,
            **timing,
        )
    if captions_file is not None and font_file is not None:
        video = burn_captions(video, captions_file, font_file)
    streams = [video]
    options: dict[str, Any] = {
        "vcodec": "libx264",
        "preset": preset,
        "crf": crf,
        "pix_fmt": "yuv420p",
        "movflags": "+faststart",
    }
    if max_seconds is not None:  # loudnorm's dynamic mode pads its last 100 ms frame
        options["t"] = f"{max_seconds:.6f}"
    if preset != "ultrafast":  # ultrafast turns off what High adds
        options["profile:v"] = "high"
    if has_audio or voice is not None:
        audio = _audio_before_loudnorm(src, has_audio, mute_ranges, voice)
        if measurement is not None and measurement.audible:
            m = measurement
            audio = audio.filter(
                "loudnorm",
                I=loudness_target,
                TP=TRUE_PEAK_DB,
                # A target range at least as wide as the measured one keeps linear mode.
                LRA=_clamp(math.ceil(m.input_lra), LOUDNESS_RANGE, 50.0),
                measured_I=_clamp(m.input_i, -99.0, 0.0),
                measured_TP=_clamp(m.input_tp, -99.0, 99.0),
                # loudnorm reads 0 as "not measured" and would leave linear mode.
                measured_LRA=_clamp(m.input_lra, 0.01, 99.0),
                measured_thresh=_clamp(m.input_thresh, -99.0, 0.0),
                offset=_clamp(m.target_offset, -99.0, 99.0),
                linear="true",
                print_format="none",
            )
        # An explicit output format: without it FFmpeg 6.0 can fail to renegotiate the
        # channel layout after loudnorm when the graph is reconfigured mid-stream.
        audio = audio.filter("aresample", AUDIO_RATE).filter(
            "aformat", sample_rates=AUDIO_RATE, channel_layouts="mono|stereo"
        )
        streams.append(audio)
        options.update(acodec="aac", audio_bitrate="160k", ar=AUDIO_RATE)
    return list(ffmpeg.output(*streams, str(out), **options).get_args())


# --- entry point ------------------------------------------------------------------------


async def measure_loudness(
    binaries: Binaries,
    source: Path,
    *,
    mute_ranges: Sequence[tuple[float, float]] = (),
    loudness_target: float = -14.0,
    duration: float | None = None,
    on_progress: ProgressCallback | None = None,
    voice: VoicePlan | None = None,
    has_audio: bool = True,
    work_dir: Path | None = None,
) -> LoudnessMeasurement:
    """loudnorm's first pass over the (muted) audio of ``source``, mixed with ``voice``.
    ``work_dir`` takes the filter graph when it is too long for the command line."""
    args = build_measure_args(source, mute_ranges, loudness_target, voice, has_audio)
    if work_dir is not None:
        args = await asyncio.to_thread(with_filter_script, args, work_dir)
    try:
        lines = await run_ffmpeg_stderr(
            binaries, args, duration_seconds=duration, on_progress=on_progress, max_lines=200
        )
    finally:
        if "-filter_complex_script" in args:
            _discard(Path(args[args.index("-filter_complex_script") + 1]))
    return parse_loudnorm_json(lines)


def _write_texts(folder: Path, texts: Sequence[str]) -> list[Path]:
    paths = []
    for text in texts:
        path = folder / f"subtitle-{uuid.uuid4().hex}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _rows_at_bottom(count: int, height: int, font_size: int) -> list[int]:
    line_height = round(font_size * 1.5)
    bottom = height - round(height * 0.06)
    pad = (line_height - font_size) // 2
    return [bottom - (count - i) * line_height + pad for i in range(count)]


def _rows_at_top(count: int, height: int, font_size: int) -> list[int]:
    line_height = round(font_size * 1.5)
    top = round(height * 0.06)
    pad = (line_height - font_size) // 2
    return [top + i * line_height + pad for i in range(count)]


async def _audio_channels(binaries: Binaries, path: Path) -> tuple[int, float]:
    """(channels, seconds) of the first audio stream of ``path``."""
    info = await probe_json(binaries, path)
    audio = next((s for s in info.get("streams") or [] if s.get("codec_type") == "audio"), None)
    if audio is None:
        raise ValueError(f"{path.name} has no audio stream")
    seconds = (info.get("format") or {}).get("duration") or audio.get("duration") or 0
    return int(audio.get("channels") or 2), float(seconds)


async def plan_voice(
    binaries: Binaries,
    source: Path,
    voiceover: VoiceoverMix,
    *,
    has_audio: bool,
    clip_seconds: float,
) -> VoicePlan:
    """Probe the voice, find where it speaks and build the original's ducking."""
    voice_channels, voice_seconds = await _audio_channels(binaries, voiceover.path)
    source_channels = (await _audio_channels(binaries, source))[0] if has_audio else 1
    layout = "mono" if voice_channels == 1 and source_channels == 1 else "stereo"
    duck = None
    if has_audio and voiceover.ducking_db > 0:
        start = voiceover.start_seconds
        spans = await detect_speech(binaries, voiceover.path, voice_seconds)
        in_clip = [(a + start, min(b + start, clip_seconds)) for a, b in spans]
        duck = duck_expression([s for s in in_clip if s[0] < clip_seconds], voiceover.ducking_db)
    return VoicePlan(voiceover.path, voiceover.start_seconds, clip_seconds, duck, layout)


def with_filter_script(args: list[str], folder: Path, limit: int = FILTER_SCRIPT_OVER) -> list[str]:
    """``args`` with a ``-filter_complex`` longer than ``limit`` moved into a file in
    ``folder`` (``-filter_complex_script``); unchanged otherwise."""
    if "-filter_complex" not in args:
        return args
    at = args.index("-filter_complex")
    if len(args[at + 1]) <= limit:
        return args
    script = folder / f"filtergraph-{uuid.uuid4().hex}.txt"
    script.write_text(args[at + 1], encoding="utf-8")
    return [*args[:at], "-filter_complex_script", str(script), *args[at + 2 :]]


async def export_clip(
    binaries: Binaries,
    source: Path,
    out: Path,
    *,
    height: int,
    loudness_target: float = -14.0,
    subtitle_text: str | None,
    mute_ranges: Sequence[tuple[float, float]],
    duration: float,
    on_progress: ProgressCallback | None = None,
    work_dir: Path | None = None,
    font_file: Path | None = None,
    voiceover: VoiceoverMix | None = None,
    captions: CaptionRequest | None = None,
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
) -> None:
    """Export ``source`` (a clip of ``duration`` seconds) to ``out`` (an .mp4).

    ``work_dir`` (e.g. the job's temp dir) holds the subtitle text files; without it a
    private temp dir is used. ``captions`` (word-by-word, see editai.media.captions) take
    the place of the voice-over's phrases; ``subtitle_text`` then goes to the frame's other
    end (the top, or the bottom when the captions are at the top). On failure or
    cancellation a partial ``out`` is removed.
    """
    validate_height(height)
    if not (math.isfinite(duration) and duration > 0):
        raise ValueError(f"duration must be positive, got {duration}")
    if not (math.isfinite(loudness_target) and -70.0 <= loudness_target <= -5.0):
        raise ValueError(f"loudness target must be between -70 and -5 LUFS, got {loudness_target}")
    ranges = validate_mute_ranges(mute_ranges, duration)
    text = clean_subtitle_text(subtitle_text)
    if voiceover is not None:
        validate_voiceover(voiceover, duration)
        if not await asyncio.to_thread(voiceover.path.is_file):
            raise ValueError("the voice-over file does not exist")

    probe = await probe_video(binaries, source)
    size = export_size(probe.width, probe.height, height)
    has_audio = probe.audio_codec is not None
    font_size = subtitle_font_size(height)
    voice = None
    phrases = []
    if voiceover is not None:
        clip_seconds = probe.duration_seconds
        voice = await plan_voice(
            binaries, source, voiceover, has_audio=has_audio, clip_seconds=clip_seconds
        )
        if voiceover.subtitles and captions is None:
            phrases = group_phrases(
                voiceover.words,
                offset=voiceover.start_seconds,
                clip_seconds=clip_seconds,
                max_chars=min(MAX_PHRASE_CHARS, chars_per_line(size[0], font_size)),
            )
    font: Path | None = None
    if text is not None or phrases or captions is not None:
        font = font_file or await asyncio.to_thread(find_font_file)
        if font is None:
            raise FontNotFoundError(
                "no TrueType font found for burning in text (install fonts-dejavu-core)"
            )
    measured = has_audio or voice is not None

    async def measure_progress(fraction: float) -> None:
        if on_progress is not None:
            await on_progress(MEASURE_SHARE * fraction)

    async def encode_progress(fraction: float) -> None:
        if on_progress is not None:
            share = MEASURE_SHARE if measured else 0.0
            await on_progress(share + (1 - share) * fraction)

    needs_folder = text is not None or bool(phrases) or voice is not None or bool(captions)
    own_dir = work_dir is None and needs_folder
    folder = work_dir
    if needs_folder and folder is None:
        folder = Path(await asyncio.to_thread(tempfile.mkdtemp))
    written: list[Path] = []
    try:
        # (text, top y, shown) per drawn line: the title (top when phrases take the bottom)
        # and each phrase's lines, shown while it is spoken.
        layout: list[tuple[str, int, tuple[float, float] | None]] = []
        if text is not None:
            lines = wrap_subtitle(text, size[0], font_size)
            on_top = bool(phrases) or (captions and captions.style.position != CaptionPosition.TOP)
            rows = (_rows_at_top if on_top else _rows_at_bottom)(len(lines), height, font_size)
            layout += [(line, y, None) for line, y in zip(lines, rows, strict=True)]
        for phrase in phrases:
            lines = wrap_subtitle(phrase.text, size[0], font_size)
            rows = _rows_at_bottom(len(lines), height, font_size)
            layout += [
                (line, y, (phrase.start, phrase.end)) for line, y in zip(lines, rows, strict=True)
            ]
        text_lines: list[TextLine] = []
        if layout:
            assert folder is not None
            written = await asyncio.to_thread(_write_texts, folder, [t for t, _, _ in layout])
            text_lines = [
                TextLine(path, y, shown)
                for path, (_, y, shown) in zip(written, layout, strict=True)
            ]
        captions_file = None
        if captions is not None:
            assert font is not None
            assert folder is not None
            frame, length = Frame(*size), probe.duration_seconds
            captions_file = await asyncio.to_thread(
                write_captions, captions, frame, font, length, folder
            )
            written += [captions_file] if captions_file else []
        measurement = None
        if measured:
            measurement = await measure_loudness(
                binaries,
                source,
                mute_ranges=ranges,
                loudness_target=loudness_target,
                duration=duration,
                on_progress=measure_progress,
                voice=voice,
                has_audio=has_audio,
                work_dir=folder,
            )
        args = build_export_args(
            source,
            out,
            size=size,
            max_seconds=probe.duration_seconds,
            has_audio=has_audio,
            mute_ranges=ranges,
            loudness_target=loudness_target,
            measurement=measurement,
            text_lines=text_lines,
            font_file=font,
            font_size=font_size,
            voice=voice,
            captions_file=captions_file,
            preset=preset,
            crf=crf,
        )
        if folder is not None:
            args = await asyncio.to_thread(with_filter_script, args, folder)
            if "-filter_complex_script" in args:
                written.append(Path(args[args.index("-filter_complex_script") + 1]))
        await run_ffmpeg(binaries, args, duration_seconds=duration, on_progress=encode_progress)
    except BaseException:
        _discard(out)
        raise
    finally:
        _discard(*written)
        if own_dir and folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _discard(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
