"""Exporting a clip for publishing: H.264/AAC MP4, scaled, loudness-normalized, optional
burned-in text and muted ranges.

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
* Text: ``subtitle_text`` is burned in at the bottom centre with ``drawtext``, one filter
  per line (wrapped to the frame width, at most :data:`MAX_SUBTITLE_LINES` lines), white
  with a black border on a translucent box. The text goes through a file
  (``textfile=``, ``expansion=none``), never through the filter graph, so quotes, colons,
  backslashes, ``%`` and ``%{...}`` are drawn literally and cannot inject filter options.
  Needs a TrueType font: ``font_file``, else :func:`find_font_file`.

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
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import ffmpeg

from editai.media.binaries import Binaries
from editai.media.ffmpeg import ProgressCallback, probe_video, run_ffmpeg, run_ffmpeg_stderr

MIN_HEIGHT, MAX_HEIGHT = 144, 2160
MAX_SUBTITLE_CHARS = 500
MAX_SUBTITLE_LINES = 3
TRUE_PEAK_DB = -1.5
LOUDNESS_RANGE = 11.0
MEASURE_SHARE = 0.2  # share of the progress bar for the loudness measurement pass
DEFAULT_PRESET = "veryfast"
DEFAULT_CRF = 20

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf",
    "/usr/share/fonts/noto/NotoSans-Bold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    "/Library/Fonts/Arial.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
)
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts")


def _packaged_font() -> Path | None:
    """Roboto from the font-roboto package: the same glyphs on every machine, no system fonts."""
    spec = find_spec("font_roboto")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "files" / "Roboto-Bold.ttf"
    return path if path.is_file() else None


class FontNotFoundError(RuntimeError):
    """Burning in text needs a TrueType font and none was found."""


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


def wrap_subtitle(text: str, width: int, font_size: int) -> list[str]:
    """Lines that fit ``width`` pixels (average glyph taken as 0.65 em); at most
    MAX_SUBTITLE_LINES, the last one cut with an ellipsis."""
    per_line = max(8, int(width * 0.9 / (font_size * 0.65)))
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines += textwrap.wrap(paragraph, per_line, break_long_words=True) or [""]
    if len(lines) > MAX_SUBTITLE_LINES:
        lines = lines[:MAX_SUBTITLE_LINES]
        last = lines[-1]
        lines[-1] = (last[: per_line - 1] if len(last) >= per_line else last) + "…"
    return lines


def find_font_file() -> Path | None:
    """A TrueType font: well-known paths first, then any .ttf under the font dirs."""
    packaged = _packaged_font()
    if packaged is not None:
        return packaged
    for candidate in FONT_CANDIDATES:
        path = Path(candidate)
        if path.is_file():
            return path
    for folder in FONT_DIRS:
        root = Path(folder)
        if root.is_dir():
            for path in sorted(root.rglob("*.ttf")):
                if path.is_file():
                    return path
    return None


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


def build_measure_args(
    source: Path, mute_ranges: Sequence[tuple[float, float]], loudness_target: float
) -> list[str]:
    audio = _mute(ffmpeg.input(str(source))["a:0"], mute_ranges).filter(
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
    subtitle_files: Sequence[tuple[Path, int]] = (),
    font_file: Path | None = None,
    font_size: int = 0,
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
) -> list[str]:
    """``subtitle_files``: (text file, top y) per line, already wrapped."""
    src = ffmpeg.input(str(source))
    width, height = size
    video = src["v:0"].filter("scale", w=width, h=height).filter("setsar", "1")
    for text_file, y in subtitle_files:
        video = video.filter(
            "drawtext",
            fontfile=str(font_file),
            textfile=str(text_file),
            expansion="none",
            fontsize=font_size,
            fontcolor="white",
            borderw=max(1, font_size // 12),
            bordercolor="black",
            box=1,
            boxcolor="black@0.45",
            boxborderw=max(2, font_size // 5),
            x="(w-text_w)/2",
            y=y,
        )
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
    if has_audio:
        audio = _mute(src["a:0"], mute_ranges)
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
        audio = audio.filter("aresample", 48000).filter(
            "aformat", sample_rates=48000, channel_layouts="mono|stereo"
        )
        streams.append(audio)
        options.update(acodec="aac", audio_bitrate="160k", ar=48000)
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
) -> LoudnessMeasurement:
    """loudnorm's first pass over the (muted) audio of ``source``."""
    lines = await run_ffmpeg_stderr(
        binaries,
        build_measure_args(source, mute_ranges, loudness_target),
        duration_seconds=duration,
        on_progress=on_progress,
        max_lines=200,
    )
    return parse_loudnorm_json(lines)


def _write_lines(folder: Path, lines: Sequence[str]) -> list[Path]:
    paths = []
    for line in lines:
        path = folder / f"subtitle-{uuid.uuid4().hex}.txt"
        path.write_text(line, encoding="utf-8")
        paths.append(path)
    return paths


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
    preset: str = DEFAULT_PRESET,
    crf: int = DEFAULT_CRF,
) -> None:
    """Export ``source`` (a clip of ``duration`` seconds) to ``out`` (an .mp4).

    ``work_dir`` (e.g. the job's temp dir) holds the subtitle text files; without it a
    private temp dir is used. On failure or cancellation a partial ``out`` is removed.
    """
    validate_height(height)
    if not (math.isfinite(duration) and duration > 0):
        raise ValueError(f"duration must be positive, got {duration}")
    if not (math.isfinite(loudness_target) and -70.0 <= loudness_target <= -5.0):
        raise ValueError(f"loudness target must be between -70 and -5 LUFS, got {loudness_target}")
    ranges = validate_mute_ranges(mute_ranges, duration)
    text = clean_subtitle_text(subtitle_text)
    font: Path | None = None
    if text is not None:
        font = font_file or await asyncio.to_thread(find_font_file)
        if font is None:
            raise FontNotFoundError(
                "no TrueType font found for burning in text (install fonts-dejavu-core)"
            )

    probe = await probe_video(binaries, source)
    size = export_size(probe.width, probe.height, height)
    has_audio = probe.audio_codec is not None

    async def measure_progress(fraction: float) -> None:
        if on_progress is not None:
            await on_progress(MEASURE_SHARE * fraction)

    async def encode_progress(fraction: float) -> None:
        if on_progress is not None:
            share = MEASURE_SHARE if has_audio else 0.0
            await on_progress(share + (1 - share) * fraction)

    own_dir = work_dir is None and text is not None
    folder = work_dir
    if text is not None and folder is None:
        folder = Path(await asyncio.to_thread(tempfile.mkdtemp))
    written: list[Path] = []
    try:
        subtitle_files: list[tuple[Path, int]] = []
        font_size = subtitle_font_size(height)
        if text is not None and folder is not None:
            lines = wrap_subtitle(text, size[0], font_size)
            written = await asyncio.to_thread(_write_lines, folder, lines)
            line_height = round(font_size * 1.5)
            bottom = height - round(height * 0.06)
            subtitle_files = [
                (path, bottom - (len(written) - i) * line_height + (line_height - font_size) // 2)
                for i, path in enumerate(written)
            ]
        measurement = None
        if has_audio:
            measurement = await measure_loudness(
                binaries,
                source,
                mute_ranges=ranges,
                loudness_target=loudness_target,
                duration=duration,
                on_progress=measure_progress,
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
            subtitle_files=subtitle_files,
            font_file=font,
            font_size=font_size,
            preset=preset,
            crf=crf,
        )
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
