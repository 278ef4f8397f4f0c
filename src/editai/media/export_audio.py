"""The audio of an export: muted ranges, the voice-over mix, two-pass loudness.

* First ``volume=0`` on the mute ranges (``volume=0:enable='between(t,a,b)+...'``,
  granularity one audio frame, ~21 ms), then EBU R128 normalization with two-pass
  ``loudnorm``: pass 1 measures (``print_format=json``, audio only), pass 2 applies the
  measured values with ``linear=true`` (one gain for the whole clip; FFmpeg falls back to
  its dynamic mode when a single gain would push true peaks over -1.5 dBTP or the range
  is too wide), then resamples to 48 kHz (mono stays mono, anything else becomes
  stereo). Digital silence is left as it is.
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
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from editai.media.binaries import Binaries
from editai.media.ffmpeg import ProgressCallback, probe_json, run_ffmpeg_stderr
from editai.media.filter_scripts import discard_files, with_filter_script
from editai.media.voiceover_mix import VoiceoverMix, detect_speech, duck_expression

TRUE_PEAK_DB = -1.5

LOUDNESS_RANGE = 11.0

AUDIO_RATE = 48_000


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


def audio_before_loudnorm(
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


def normalized(audio: Any, measurement: LoudnessMeasurement | None, target: float) -> Any:
    """``audio`` through loudnorm's second pass (linear) with ``measurement``, then at 48
    kHz, mono or stereo; silence (or no measurement) is only resampled."""
    if measurement is not None and measurement.audible:
        m = measurement
        audio = audio.filter(
            "loudnorm",
            I=target,
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
    return audio.filter("aresample", AUDIO_RATE).filter(
        "aformat", sample_rates=AUDIO_RATE, channel_layouts="mono|stereo"
    )


def build_measure_args(
    source: Path,
    mute_ranges: Sequence[tuple[float, float]],
    loudness_target: float,
    voice: VoicePlan | None = None,
    has_audio: bool = True,
) -> list[str]:
    src = ffmpeg.input(str(source))
    audio = audio_before_loudnorm(src, has_audio, mute_ranges, voice).filter(
        "loudnorm",
        I=loudness_target,
        TP=TRUE_PEAK_DB,
        LRA=LOUDNESS_RANGE,
        print_format="json",
    )
    return list(ffmpeg.output(audio, "-", format="null").get_args())


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
            discard_files(Path(args[args.index("-filter_complex_script") + 1]))
    return parse_loudnorm_json(lines)


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
