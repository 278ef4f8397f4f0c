"""Transcription speed (real-time factor) of Whisper base int8 on this machine, its word
error rate, and how responsive the calling process's event loop stays meanwhile.

Audio: known English sentences spoken by eSpeak NG (the product's local TTS, offline),
joined by FFmpeg with 1.5 s pauses (tests/transcripts/speech.py), about a minute long.
Each configuration is transcribed through ``transcribe_audio`` exactly as a job does (the
child process, model verified and loaded each run), ``--runs`` times:

- RTF = wall time of the whole run (start of the child to its last event, model load
  included) / audio seconds. Target <= 0.35.
- RTF (decode) = the same without the child's start-up, model check and load, VAD and
  language detection (from the child's "info" event to its last), the part that grows
  with the audio.
- CPU = the child's CPU seconds (user + system, from getrusage of reaped children) / audio
  seconds: what the machine's load does not change. On an idle machine the wall RTF is at
  least CPU / threads. The child runs at the lowest priority (nice 19, like FFmpeg), so on
  a busy machine its wall time stretches: the load average is printed first.
- WER after normalising case and punctuation, against the sentences spoken.
- Loop lag: while the child works, a ticker in this process sleeps 10 ms again and again;
  p99 and max of how late it wakes (the event loop stays free: the work is in the child).

    .venv/bin/python bench/transcription_rtf.py [--runs 2] [--beams 1,5]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from pathlib import Path

from _common import machine_note, make_settings, scratch_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.transcripts

from editai.media.binaries import find_binaries
from editai.transcripts.model import default_cache_dir, ensure_model
from editai.transcripts.transcriber import (
    TranscriptionOptions,
    threads_for_machine,
    transcribe_audio,
)
from tests.transcripts.speech import make_speech_video
from tests.transcripts.wer import word_error_rate

SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "We recorded this video on a sunny morning in the park.",
    "Please remember to subscribe to our channel for more videos.",
    "Today we are going to talk about three simple ways to save energy at home.",
    "First, switch off the lights when you leave a room.",
    "Second, wash your clothes in cold water whenever you can.",
    "Third, unplug the chargers that you are not using.",
    "These small habits add up to real savings over a year.",
    "Let us know in the comments which tip you liked the most.",
    "Thanks for watching, and see you in the next video.",
    "The weather will be cloudy in the afternoon with a chance of rain.",
    "Our next guest has travelled to more than forty countries.",
)


async def lag_ticker(stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append(time.perf_counter() - before - 0.01)


async def one_run(
    audio: Path, options: TranscriptionOptions
) -> tuple[float, float, float, str, list[float]]:
    stop, lags = asyncio.Event(), []
    ticker = asyncio.create_task(lag_ticker(stop, lags))
    first_event: list[float] = []

    async def progress(_fraction: float) -> None:
        if not first_event:
            first_event.append(time.perf_counter())

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = await transcribe_audio(audio, options, progress)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stop.set()
    await ticker
    decode = time.perf_counter() - (first_event[0] if first_event else started)
    return wall, decode, cpu, " ".join(w.text for w in result.words), lags


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--beams", default="1,5")
    args = parser.parse_args()
    binaries = find_binaries()
    cache = default_cache_dir()
    await asyncio.to_thread(ensure_model, cache)  # joined once, outside the timings
    with scratch_dir() as tmp:
        settings = make_settings(tmp, f"sqlite+aiosqlite:///{tmp / 'unused.db'}")
        spec = await make_speech_video(binaries, settings, tmp, SENTENCES, with_video=False)
        print(f"{machine_note()}")
        print(
            f"audio: {spec.duration:.1f} s, {len(spec.text.split())} words; "
            f"threads {threads_for_machine(0)}; runs {args.runs}"
        )
        beams = [int(b) for b in args.beams.split(",")]
        figures: dict[int, dict[str, list[float]]] = {
            b: {"wall": [], "decode": [], "cpu": [], "wer": [], "lag": []} for b in beams
        }
        for _ in range(args.runs):  # interleaved, so a change in load hits every beam
            for beam in beams:
                options = TranscriptionOptions(model_cache=cache, beam_size=beam)
                wall, decode, cpu, heard, run_lags = await one_run(spec.path, options)
                f = figures[beam]
                f["wall"].append(wall)
                f["decode"].append(decode)
                f["cpu"].append(cpu)
                f["lag"] += run_lags
                f["wer"].append(word_error_rate(spec.text, heard))
        print(machine_note())
        for beam in beams:
            f = figures[beam]
            walls, decodes, cpus, wers = f["wall"], f["decode"], f["cpu"], f["wer"]
            lags = sorted(f["lag"])
            p99 = lags[int(0.99 * (len(lags) - 1))] * 1000
            print(
                f"beam {beam}: RTF {statistics.median(walls) / spec.duration:.3f} "
                f"(wall {statistics.median(walls):.2f} s, best {min(walls):.2f} s), "
                f"RTF decode {statistics.median(decodes) / spec.duration:.3f}, "
                f"CPU {statistics.median(cpus) / spec.duration:.3f} s/s, "
                f"WER {statistics.median(wers):.4f}, "
                f"loop lag p99 {p99:.1f} ms max {lags[-1] * 1000:.1f} ms"
            )


if __name__ == "__main__":
    asyncio.run(main())
