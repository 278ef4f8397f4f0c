"""A short video whose audio is known speech with known pauses, made offline.

Each sentence is spoken by the product's own local TTS (eSpeak NG, in its child process)
into its own WAV; FFmpeg pads each with an exact silence and joins them, then muxes the
audio under a test pattern. The ground truth (``SpeechSpec``) is measured from the
sentences' real lengths, so the pauses' places are exact to the sample.
"""

from __future__ import annotations

import array
import wave
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from editai.media.binaries import Binaries
from editai.media.ffmpeg import run_ffmpeg
from editai.settings import Settings
from editai.tts.providers.local import LocalTtsProvider

SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "We recorded this video on a sunny morning in the park.",
    "Please remember to subscribe to our channel for more videos.",
)
LEAD_IN = 0.5  # silence before the first sentence
PAUSE = 1.5  # silence between sentences (and after the last)
RATE = 16_000


@dataclass(frozen=True, slots=True)
class SpeechSpec:
    path: Path
    sentences: tuple[str, ...]
    spans: tuple[tuple[float, float], ...]  # each sentence's (start, end), seconds
    duration: float

    @property
    def pauses(self) -> tuple[tuple[float, float], ...]:
        """The silences between sentences, (start, end)."""
        return tuple((a[1], b[0]) for a, b in zip(self.spans, self.spans[1:], strict=False))

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def _voiced_extent(path: Path, threshold: int = 400) -> tuple[float, float]:
    """(first, last) second where the 16-bit mono WAV is louder than ``threshold``."""
    with wave.open(str(path)) as f:
        rate = f.getframerate()
        samples = array.array("h", f.readframes(f.getnframes()))
    loud = [i for i, x in enumerate(samples) if abs(x) > threshold]
    return loud[0] / rate, (loud[-1] + 1) / rate


async def make_speech_video(
    binaries: Binaries,
    settings: Settings,
    folder: Path,
    sentences: tuple[str, ...] = SENTENCES,
    *,
    with_video: bool = True,
) -> SpeechSpec:
    """``sentences`` spoken one after another with exact pauses, under a test pattern."""
    tts = LocalTtsProvider(settings)
    pieces: list[Path] = []
    spans: list[tuple[float, float]] = []
    at = LEAD_IN
    for index, sentence in enumerate(sentences):
        speech = await tts.synthesize(sentence, "en-us", folder / f"tts-{index}")
        # Cut to its voiced part (eSpeak adds silence around it), resampled, and padded to
        # exactly its length + the pause, so ``at`` stays exact.
        first, last = _voiced_extent(speech.audio_path)
        spoken = round((last - first) * RATE) / RATE
        piece = folder / f"piece-{index}.wav"
        lead = LEAD_IN if index == 0 else 0.0
        total = lead + spoken + PAUSE
        stream = (
            ffmpeg.input(str(speech.audio_path))
            .audio.filter("atrim", start=f"{first:.6f}", end=f"{last:.6f}")  # no 1e-05 forms
            .filter("asetpts", "PTS-STARTPTS")
            .filter("aresample", RATE)
        )
        if lead:
            stream = stream.filter("adelay", f"{int(lead * 1000)}", all=1)
        stream = stream.filter("apad").filter("atrim", end=f"{total:.6f}")
        await run_ffmpeg(
            binaries,
            ffmpeg.output(stream, str(piece), ac=1, ar=RATE, acodec="pcm_s16le").get_args(),
        )
        spans.append((at, at + spoken))
        at += spoken + PAUSE
        pieces.append(piece)
    duration = at
    audio = ffmpeg.concat(*(ffmpeg.input(str(p)).audio for p in pieces), v=0, a=1)
    if not with_video:
        out = folder / "speech.wav"
        args = ffmpeg.output(audio, str(out), ac=1, ar=RATE, acodec="pcm_s16le").get_args()
    else:
        out = folder / "speech.mp4"
        picture = ffmpeg.input(f"testsrc2=size=320x180:rate=15:duration={duration}", f="lavfi")
        args = ffmpeg.output(
            picture.video,
            audio,
            str(out),
            vcodec="libx264",
            preset="ultrafast",
            pix_fmt="yuv420p",
            acodec="aac",
            ar=48_000,
            t=duration,
        ).get_args()
    await run_ffmpeg(binaries, args)
    return SpeechSpec(out, sentences, tuple(spans), duration)
