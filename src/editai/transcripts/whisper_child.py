"""The transcriber's child process: ``python -m editai.transcripts.whisper_child ...``.

Runs faster-whisper (CTranslate2, CPU, int8) on a 16 kHz mono WAV and writes JSON lines
on stdout, one event each, as the audio is decoded:

- ``{"type": "info", "language": "en", "language_probability": 0.98, "duration": 12.3}``
- ``{"type": "segment", "start", "end", "text", "words": [{"text", "start", "end",
  "probability"}], "progress": 0.41}`` (progress = the segment's end / the audio duration)
- ``{"type": "done"}``

A failure writes ``{"type": "error", "message": ...}`` and exits non-zero. The model is
verified (sha256 of every file, editai.transcripts.model) right before it is loaded, from
a local directory, with HF_HUB_OFFLINE=1: nothing is ever fetched.

A child process because decoding blocks and holds the CPU for seconds to minutes: the
server's event loop never waits on it, and cancelling a job kills it at once (its process
group, editai.child_processes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_MODEL = 3  # the model files are missing or not the pinned ones


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="editai.transcripts.whisper_child")
    parser.add_argument("--audio", type=Path, required=True)
    parser.add_argument("--model-cache", type=Path, required=True)
    parser.add_argument("--language", default=None)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument("--vad-min-silence-ms", type=int, default=500)
    parser.add_argument("--vad-pad-ms", type=int, default=200)
    return parser.parse_args(argv)


def transcribe(args: argparse.Namespace) -> None:
    # Before faster_whisper (and huggingface_hub) are imported: never reach for a hub.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    from editai.transcripts.model import ensure_model

    directory = ensure_model(args.model_cache)

    from faster_whisper import WhisperModel  # type: ignore[import-untyped]

    model = WhisperModel(
        str(directory),
        device="cpu",
        compute_type="int8",
        cpu_threads=args.threads,
        local_files_only=True,
    )
    segments, info = model.transcribe(
        str(args.audio),
        language=args.language,
        beam_size=args.beam_size,
        word_timestamps=True,
        vad_filter=True,
        vad_parameters={
            "min_silence_duration_ms": args.vad_min_silence_ms,
            "speech_pad_ms": args.vad_pad_ms,
        },
        # Each window decoded on its own: a hallucination cannot carry into the next one.
        condition_on_previous_text=False,
    )
    duration = float(info.duration) or 0.0
    _emit(
        {
            "type": "info",
            "language": info.language,
            "language_probability": round(float(info.language_probability), 4),
            "duration": round(duration, 3),
        }
    )
    for segment in segments:
        words = [
            {
                "text": w.word.strip(),
                "start": round(float(w.start), 3),
                "end": round(float(w.end), 3),
                "probability": round(float(w.probability), 4),
            }
            for w in segment.words or []
        ]
        progress = min(float(segment.end) / duration, 1.0) if duration > 0 else 0.0
        _emit(
            {
                "type": "segment",
                "start": round(float(segment.start), 3),
                "end": round(float(segment.end), 3),
                "text": segment.text.strip(),
                "words": words,
                "progress": round(progress, 4),
            }
        )
    _emit({"type": "done"})


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    from editai.transcripts.model import ModelError

    try:
        transcribe(args)
    except ModelError as exc:
        _emit({"type": "error", "message": str(exc)})
        return EXIT_MODEL
    except Exception as exc:  # reported to the parent, which fails the job with it
        # The message is shown on the job; the detail (paths, say) only goes to the log.
        name = type(exc).__name__
        _emit({"type": "error", "message": f"the transcriber failed ({name})", "detail": str(exc)})
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
