"""Scene changes and speech/silence spans of a video, scored 0..1 (one FFmpeg pass).

One decode of the source feeds two filter chains, each writing per-frame metadata to a
file (``metadata=mode=print:file=...``) instead of the log:

* video: ``scale=320:-2,scdet=threshold=T`` then only frames carrying
  ``lavfi.scd.time`` (a scene change) are printed, with their ``lavfi.scd.score``
  (0..100, FFmpeg's scale);
* audio: resampled to 16 kHz mono in 0.1 s frames, ``silencedetect`` (noise floor
  ``silence_db``, minimum ``min_silence_seconds``) and ``astats`` (RMS level of each
  0.1 s frame), every frame printed.

Spans (``kind``, ``start``, ``end`` in seconds, ``score`` in 0..1):

* SCENE: from 0 (or a scene change) to the next scene change (or ``duration``); changes
  closer than ``min_scene_seconds`` to the previous boundary or to the end are dropped.
  ``cut = min(1, scd_score / 50)`` (0.5 for the first scene, which starts at 0);
  ``activity`` = the scene's mean audio level relative to the loudest scene (0..1).
  Score: ``0.6 * cut + 0.4 * activity`` with audio, ``cut`` without.
* SILENCE: what ``silencedetect`` reports, plus any tail after the audio stream ends.
  Score: ``0.1 * min(1, min_silence_seconds / length)`` (at most 0.1; long pauses lower).
* SPEECH: the complement of the silences within [0, duration] (pieces shorter than
  0.1 s dropped). ``loud`` = the span's mean level relative to the loudest speech span,
  measured from the silence floor (0..1); ``length = min(1, seconds / 5)``.
  Score: ``0.7 * loud + 0.3 * length``.

Without an audio stream there are no SPEECH/SILENCE spans and scene scores are ``cut``.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import ffmpeg

from editai.media.binaries import Binaries
from editai.media.ffmpeg import ProgressCallback, probe_video, run_ffmpeg

SpanKind = Literal["SCENE", "SPEECH", "SILENCE", "HIGHLIGHT"]  # HIGHLIGHT: a model-picked moment

SCENE_THRESHOLD = 10.0
"""scdet threshold on its 0..100 scale (hard cuts in real footage score 15..80)."""
SILENCE_DB = -35.0
MIN_SILENCE_SECONDS = 0.5
MIN_SCENE_SECONDS = 0.5
MIN_SPEECH_SECONDS = 0.1
ANALYSIS_WIDTH = 320
AUDIO_RATE = 16_000
LEVEL_FRAME_SECONDS = 0.1
FULL_CUT_SCORE = 50.0
SPEECH_FULL_LENGTH_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class SpanScore:
    kind: SpanKind
    start: float
    end: float
    score: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class SceneChange:
    time: float
    score: float  # scdet's 0..100


@dataclass(frozen=True, slots=True)
class AudioLevel:
    time: float  # start of a LEVEL_FRAME_SECONDS frame
    rms_db: float  # -inf for digital silence


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    scene_threshold: float = SCENE_THRESHOLD
    silence_db: float = SILENCE_DB
    min_silence_seconds: float = MIN_SILENCE_SECONDS
    min_scene_seconds: float = MIN_SCENE_SECONDS


# --- FFmpeg command ---------------------------------------------------------------------


def build_analysis_args(
    source: Path,
    scenes_file: Path,
    audio_file: Path | None,
    settings: AnalysisSettings = AnalysisSettings(),
) -> list[str]:
    """Arguments (without the executable) for the analysis pass; no audio chain if
    ``audio_file`` is None."""
    src = ffmpeg.input(str(source))
    video = (
        src["v:0"]
        .filter("scale", ANALYSIS_WIDTH, -2)
        .filter("scdet", threshold=settings.scene_threshold)
        .filter("metadata", mode="select", key="lavfi.scd.time")
        .filter("metadata", mode="print", file=str(scenes_file))
    )
    streams = [video]
    if audio_file is not None:
        audio = (
            src["a:0"]
            .filter("aresample", AUDIO_RATE)
            .filter("aformat", channel_layouts="mono")
            .filter("asetnsamples", n=round(AUDIO_RATE * LEVEL_FRAME_SECONDS), p=0)
            .filter(
                "silencedetect",
                noise=f"{settings.silence_db}dB",
                duration=settings.min_silence_seconds,
            )
            .filter(
                "astats",
                metadata=1,
                reset=1,
                measure_perchannel="none",
                measure_overall="RMS_level",
            )
            .filter("ametadata", mode="print", file=str(audio_file))
        )
        streams.append(audio)
    return list(ffmpeg.output(*streams, "-", format="null").get_args())


# --- parsing metadata=print files -------------------------------------------------------


def parse_metadata_print(text: str) -> list[tuple[float, dict[str, str]]]:
    """``frame:N pts:P pts_time:T`` headers each followed by ``key=value`` lines."""
    frames: list[tuple[float, dict[str, str]]] = []
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("frame:"):
            time = math.nan
            for part in line.split():
                if part.startswith("pts_time:"):
                    time = _float(part.removeprefix("pts_time:"))
            current = {}
            frames.append((time, current))
        elif current is not None and "=" in line:
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    return frames


def _float(text: str | None) -> float:
    if text is None:
        return math.nan
    try:
        return float(text)
    except ValueError:
        return math.nan


def parse_scene_changes(frames: Iterable[tuple[float, dict[str, str]]]) -> list[SceneChange]:
    changes: list[SceneChange] = []
    for pts_time, meta in frames:
        time = _float(meta.get("lavfi.scd.time"))
        if math.isnan(time):
            time = pts_time
        score = _float(meta.get("lavfi.scd.score"))
        if math.isfinite(time) and math.isfinite(score):
            changes.append(SceneChange(time, score))
    changes.sort(key=lambda c: c.time)
    return changes


def parse_audio(
    frames: Iterable[tuple[float, dict[str, str]]],
) -> tuple[list[tuple[float, float | None]], list[AudioLevel]]:
    """Silences as (start, end or None if still silent at the end) and 0.1 s levels."""
    silences: list[tuple[float, float | None]] = []
    levels: list[AudioLevel] = []
    open_start: float | None = None
    for pts_time, meta in frames:
        level = _float(meta.get("lavfi.astats.Overall.RMS_level"))
        if math.isfinite(pts_time) and not math.isnan(level):
            levels.append(AudioLevel(pts_time, level))
        start = _float(meta.get("lavfi.silence_start"))
        end = _float(meta.get("lavfi.silence_end"))
        events: list[tuple[float, str]] = []
        if math.isfinite(start):
            events.append((start, "start"))
        if math.isfinite(end):
            events.append((end, "end"))
        # One frame can close a silence and open the next: the end comes first.
        for time, what in sorted(events, key=lambda e: (e[0], e[1] == "start")):
            if what == "start":
                if open_start is None:
                    open_start = time
            elif open_start is not None:
                silences.append((open_start, time))
                open_start = None
    if open_start is not None:
        silences.append((open_start, None))
    return silences, levels


# --- scoring ----------------------------------------------------------------------------


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return min(max(value, low), high)


def _mean_db(levels: Sequence[AudioLevel], start: float, end: float) -> float | None:
    """Energy mean (dB) of the level frames whose centre lies in [start, end)."""
    total, count = 0.0, 0
    for level in levels:
        centre = level.time + LEVEL_FRAME_SECONDS / 2
        if start <= centre < end:
            count += 1
            if math.isfinite(level.rms_db):
                total += 10 ** (level.rms_db / 10)
    if count == 0:
        return None
    return 10 * math.log10(total / count) if total > 0 else -math.inf


def _relative(values: list[float | None], floor: float) -> list[float]:
    """Each value's position between ``floor`` and the largest value, 0..1."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    top = max(finite, default=floor)
    if top <= floor:
        return [0.0 for _ in values]
    return [
        _clamp((v - floor) / (top - floor)) if v is not None and math.isfinite(v) else 0.0
        for v in values
    ]


def _span(kind: SpanKind, start: float, end: float, score: float) -> SpanScore:
    return SpanScore(kind, round(start, 3), round(end, 3), round(_clamp(score), 4))


def scene_spans(
    changes: Sequence[SceneChange],
    duration: float,
    levels: Sequence[AudioLevel] | None,
    min_scene_seconds: float = MIN_SCENE_SECONDS,
) -> list[SpanScore]:
    boundaries: list[tuple[float, float]] = [(0.0, 0.5)]  # (time, cut strength)
    for change in sorted(changes, key=lambda c: c.time):
        if change.time - boundaries[-1][0] < min_scene_seconds:
            continue
        if duration - change.time < min_scene_seconds:
            continue
        boundaries.append((change.time, _clamp(change.score / FULL_CUT_SCORE)))
    edges = [*boundaries, (duration, 0.0)]
    pieces = [(edges[i][0], edges[i + 1][0], edges[i][1]) for i in range(len(boundaries))]
    if levels:
        activity = _relative([_mean_db(levels, a, b) for a, b, _ in pieces], floor=-60.0)
        return [
            _span("SCENE", a, b, 0.6 * cut + 0.4 * act)
            for (a, b, cut), act in zip(pieces, activity, strict=True)
        ]
    return [_span("SCENE", a, b, cut) for a, b, cut in pieces]


def speech_silence_spans(
    silences: Sequence[tuple[float, float | None]],
    levels: Sequence[AudioLevel],
    duration: float,
    silence_db: float = SILENCE_DB,
    min_silence_seconds: float = MIN_SILENCE_SECONDS,
) -> list[SpanScore]:
    quiet: list[tuple[float, float]] = []
    for start, end in silences:
        a, b = _clamp(start, 0.0, duration), _clamp(duration if end is None else end, 0.0, duration)
        if b > a:
            quiet.append((a, b))
    if levels:  # no audio after the stream ends: silence
        audio_end = max(level.time for level in levels) + LEVEL_FRAME_SECONDS
        if duration - audio_end > MIN_SPEECH_SECONDS:
            quiet.append((audio_end, duration))
    quiet.sort()
    merged: list[tuple[float, float]] = []
    for a, b in quiet:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    speech: list[tuple[float, float]] = []
    cursor = 0.0
    for a, b in merged:
        if a - cursor >= MIN_SPEECH_SECONDS:
            speech.append((cursor, a))
        cursor = b
    if duration - cursor >= MIN_SPEECH_SECONDS:
        speech.append((cursor, duration))

    loud = _relative([_mean_db(levels, a, b) for a, b in speech], floor=silence_db)
    spans = [
        _span("SPEECH", a, b, 0.7 * rel + 0.3 * min(1.0, (b - a) / SPEECH_FULL_LENGTH_SECONDS))
        for (a, b), rel in zip(speech, loud, strict=True)
    ]
    spans += [
        _span("SILENCE", a, b, 0.1 * min(1.0, min_silence_seconds / (b - a))) for a, b in merged
    ]
    spans.sort(key=lambda s: (s.start, s.kind))
    return spans


def spans_from_files(
    scenes_text: str,
    audio_text: str | None,
    duration: float,
    settings: AnalysisSettings = AnalysisSettings(),
) -> list[SpanScore]:
    """Every span (SCENE first, then SPEECH/SILENCE by time) from the two metadata files."""
    changes = parse_scene_changes(parse_metadata_print(scenes_text))
    if audio_text is None:
        return scene_spans(changes, duration, None, settings.min_scene_seconds)
    silences, levels = parse_audio(parse_metadata_print(audio_text))
    return scene_spans(changes, duration, levels, settings.min_scene_seconds) + (
        speech_silence_spans(
            silences, levels, duration, settings.silence_db, settings.min_silence_seconds
        )
    )


# --- entry point ------------------------------------------------------------------------


async def analyze(
    binaries: Binaries,
    source: Path,
    duration: float,
    on_progress: ProgressCallback | None = None,
    *,
    work_dir: Path | None = None,
    has_audio: bool | None = None,
    settings: AnalysisSettings = AnalysisSettings(),
) -> list[SpanScore]:
    """Scene, speech and silence spans of ``source`` (``duration`` from its probe).

    ``work_dir`` (e.g. the job's temp dir) receives the two metadata files; without it a
    private temp dir is used and removed. ``has_audio=None`` probes the source.
    """
    if not duration > 0:
        raise ValueError("duration must be positive")
    if has_audio is None:
        has_audio = (await probe_video(binaries, source)).audio_codec is not None
    own_dir = work_dir is None
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp)) if work_dir is None else work_dir
    try:
        scenes_file = folder / "analysis-scenes.txt"
        audio_file = folder / "analysis-audio.txt" if has_audio else None
        args = build_analysis_args(source, scenes_file, audio_file, settings)
        await run_ffmpeg(binaries, args, duration_seconds=duration, on_progress=on_progress)
        return await asyncio.to_thread(_read_and_parse, scenes_file, audio_file, duration, settings)
    finally:
        if own_dir:
            await asyncio.to_thread(shutil.rmtree, folder, True)


def _read_and_parse(
    scenes_file: Path, audio_file: Path | None, duration: float, settings: AnalysisSettings
) -> list[SpanScore]:
    # metadata=print creates its file on the first printed frame only.
    scenes = scenes_file.read_text(errors="replace") if scenes_file.exists() else ""
    audio = None
    if audio_file is not None:
        audio = audio_file.read_text(errors="replace") if audio_file.exists() else ""
    return spans_from_files(scenes, audio, duration, settings)
