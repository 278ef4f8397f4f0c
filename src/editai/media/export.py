"""Exporting a clip for publishing: H.264/AAC MP4, scaled, loudness-normalized, optional
burned-in text, muted ranges and a voice-over.

* Video: ``scale`` to ``height`` with the width keeping the source's aspect, rounded to
  the nearest even number (:func:`export_size`); libx264 (``preset``, CRF ``crf``,
  yuv420p, High profile unless the preset forbids it); ``-movflags +faststart`` (the
  ``moov`` index precedes the media data, so players start before the download ends).
* Audio (when the source has any, or a voice-over is mixed in): muted ranges, the
  voice-over mix and two-pass loudness normalization (:mod:`editai.media.export_audio`);
  AAC 160 kb/s; the output is capped at the source's duration (loudnorm's dynamic mode
  pads its last 100 ms frame).
* Text: a title and the voice-over's phrases, drawn with ``drawtext`` from files
  (:mod:`editai.media.export_text`). A graph too long for one command-line argument
  (many phrases) is passed as a file (``-filter_complex_script``). Needs a TrueType font:
  ``font_file``, else :func:`find_font_file`.
* Captions (:mod:`editai.media.captions`): word-by-word, written as an ASS file and burned
  in by libass (``subtitles``) in the same encode, after the text; they take the place of
  the voice-over's phrases, and ``subtitle_text`` goes to the other end of the frame.

Inputs are validated first (ValueError with a readable message).
"""

from __future__ import annotations

import asyncio
import math
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ffmpeg

from editai.media.binaries import Binaries
from editai.media.captions.burn import CaptionRequest, burn_captions, write_captions
from editai.media.captions.layout import Frame
from editai.media.captions.style import CaptionPosition
from editai.media.export_audio import (
    AUDIO_RATE,
    LoudnessMeasurement,
    VoicePlan,
    audio_before_loudnorm,
    measure_loudness,
    normalized,
    plan_voice,
    validate_mute_ranges,
)
from editai.media.export_text import (
    TextLine,
    chars_per_line,
    clean_subtitle_text,
    draw_text_lines,
    rows_at_bottom,
    rows_at_top,
    subtitle_font_size,
    wrap_subtitle,
    write_texts,
)
from editai.media.ffmpeg import ProgressCallback, probe_video, run_ffmpeg
from editai.media.filter_scripts import discard_files, with_filter_script
from editai.media.fonts import FontNotFoundError, find_font_file
from editai.media.voiceover_mix import (
    MAX_PHRASE_CHARS,
    VoiceoverMix,
    group_phrases,
    validate_voiceover,
)

MIN_HEIGHT, MAX_HEIGHT = 144, 2160
MEASURE_SHARE = 0.2  # share of the progress bar for the loudness measurement pass
DEFAULT_PRESET = "veryfast"
DEFAULT_CRF = 20


def validate_height(height: int) -> None:
    if isinstance(height, bool) or not isinstance(height, int):
        raise ValueError(f"height must be a whole number of pixels, got {height!r}")
    if not MIN_HEIGHT <= height <= MAX_HEIGHT:
        raise ValueError(f"height must be between {MIN_HEIGHT} and {MAX_HEIGHT}, got {height}")
    if height % 2:
        raise ValueError(f"height must be even, got {height}")


def export_size(src_w: int, src_h: int, height: int) -> tuple[int, int]:
    """(width, height): ``height`` and the source's aspect, width rounded to even."""
    if src_w <= 0 or src_h <= 0:
        raise ValueError(f"source frame size {src_w}x{src_h} is invalid")
    width = max(2, 2 * round(src_w * height / src_h / 2))
    return width, height


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
    video = draw_text_lines(video, text_lines, font_file, font_size)
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
        audio = audio_before_loudnorm(src, has_audio, mute_ranges, voice)
        streams.append(normalized(audio, measurement, loudness_target))
        options.update(acodec="aac", audio_bitrate="160k", ar=AUDIO_RATE)
    return list(ffmpeg.output(*streams, str(out), **options).get_args())


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
            rows = (rows_at_top if on_top else rows_at_bottom)(len(lines), height, font_size)
            layout += [(line, y, None) for line, y in zip(lines, rows, strict=True)]
        for phrase in phrases:
            lines = wrap_subtitle(phrase.text, size[0], font_size)
            rows = rows_at_bottom(len(lines), height, font_size)
            layout += [
                (line, y, (phrase.start, phrase.end)) for line, y in zip(lines, rows, strict=True)
            ]
        text_lines: list[TextLine] = []
        if layout:
            assert folder is not None
            written = await asyncio.to_thread(write_texts, folder, [t for t, _, _ in layout])
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
        discard_files(out)
        raise
    finally:
        discard_files(*written)
        if own_dir and folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
