"""Transcribing audio from the server side: the child process, its events, the result.

The work happens in ``editai.transcripts.whisper_child``, started through
``editai.child_processes`` (own process group, killed with its parent, lowest CPU
priority like FFmpeg): cancelling the awaiting task kills it at once. Its stdout is read
line by line with asyncio's bounded buffer (64 KiB: a longer line fails the run instead
of growing memory; a segment of 30 s is a few KiB), its stderr is kept to its last lines
for the error message.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from editai.child_processes import ChildFailed, start_child, stop_child
from editai.logging import get_logger
from editai.media.ffmpeg import lower_priority
from editai.transcripts import whisper_child
from editai.transcripts.segments import TranscriptSegment, segments_from_json
from editai.transcripts.words import TranscriptWord, words_from_json

log = get_logger(__name__)

Progress = Callable[[float], Awaitable[None]]


class TranscriptionError(ChildFailed):
    """The transcriber failed; the message is readable (it ends up on the job)."""


class ModelUnavailableError(TranscriptionError):
    """The model files are missing or not the pinned ones (a deployment problem)."""


@dataclass(frozen=True, slots=True)
class TranscriptionOptions:
    model_cache: Path
    language: str | None = None
    threads: int = 0
    beam_size: int = 1
    vad_min_silence_ms: int = 500
    vad_pad_ms: int = 200


@dataclass
class Transcription:
    language: str = ""
    duration: float = 0.0
    segments: list[TranscriptSegment] = field(default_factory=list)
    words: list[TranscriptWord] = field(default_factory=list)


def threads_for_machine(requested: int) -> int:
    """``requested``, or every core the process may use (0 = size for the machine)."""
    if requested > 0:
        return requested
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _command(audio: Path, options: TranscriptionOptions) -> list[str]:
    command = [sys.executable, "-m", whisper_child.__name__, "--audio", str(audio)]
    command += ["--model-cache", str(options.model_cache)]
    command += ["--threads", str(threads_for_machine(options.threads))]
    command += ["--beam-size", str(options.beam_size)]
    command += ["--vad-min-silence-ms", str(options.vad_min_silence_ms)]
    command += ["--vad-pad-ms", str(options.vad_pad_ms)]
    if options.language:
        command += ["--language", options.language]
    return command


def _apply(event: dict[str, Any], result: Transcription) -> float | None:
    """Fold one event into ``result``; the progress it carries, if any."""
    kind = event.get("type")
    if kind == "info":  # the model is loaded and the language known: decoding starts
        result.language = str(event.get("language") or "")
        result.duration = float(event.get("duration") or 0.0)
        return 0.0
    elif kind == "segment":
        result.segments.extend(segments_from_json([event]))
        result.words.extend(words_from_json(event.get("words") or []))
        return float(event.get("progress") or 0.0)
    return None


async def transcribe_audio(
    audio: Path, options: TranscriptionOptions, on_progress: Progress | None = None
) -> Transcription:
    """Transcribe a 16 kHz mono WAV in the child process; progress 0..1 from the audio
    position (each segment's end over the duration)."""
    process = await start_child(
        *_command(audio, options),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        before_exec=lower_priority,
    )
    stderr_lines: deque[str] = deque(maxlen=20)
    stderr_task = asyncio.create_task(_drain(process.stderr, stderr_lines))
    result = Transcription()
    error: str | None = None
    done = False
    try:
        assert process.stdout is not None
        while line := await _read_line(process.stdout):
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a library's stray print: not an event
            if not isinstance(event, dict):
                continue
            if event.get("type") == "error":
                error = str(event.get("message") or "unknown error")
                if event.get("detail"):
                    log.warning("transcriber error", detail=str(event["detail"])[:2000])
            elif event.get("type") == "done":
                done = True
            progress = _apply(event, result)
            if progress is not None and on_progress is not None:
                await on_progress(progress)
        code = await process.wait()
        await stderr_task
    except BaseException:
        await stop_child(process)
        stderr_task.cancel()
        raise
    if code == whisper_child.EXIT_MODEL:
        raise ModelUnavailableError(error or "the transcription model is not available")
    if code != 0 or not done:
        log.warning("transcriber failed", returncode=code, stderr="\n".join(stderr_lines)[-2000:])
        # The child's own error event is written to be shown; its stderr (paths, a
        # traceback) is for the log only.
        detail = error or f"the transcriber stopped unexpectedly (exit code {code})"
        raise TranscriptionError(f"Transcription failed: {detail[:300]}")
    result.words.sort(key=lambda w: (w.start, w.end))
    return result


async def _read_line(stream: asyncio.StreamReader) -> bytes:
    """The next line (b"" at the end); a line over the bound is an error, not memory."""
    try:
        line = await stream.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        return exc.partial
    except asyncio.LimitOverrunError as exc:
        raise TranscriptionError("The transcriber wrote a line that is too long") from exc
    return line


async def _drain(stream: asyncio.StreamReader | None, keep: deque[str]) -> None:
    if stream is None:
        return
    try:
        async for raw in stream:
            keep.append(raw.decode(errors="replace").rstrip())
    except ValueError:  # a line over the buffer's bound: the rest is not needed
        return
