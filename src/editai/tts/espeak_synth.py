"""eSpeak NG synthesis, run as its own process: ``python -m editai.tts.espeak_synth``.

The library (from the espeakng-loader wheel) is driven through ctypes. It keeps global
state and blocks while it speaks, and a bad call can crash the process: so the server
never loads it, it starts this module instead (see ``providers/local.py``).

Input: the text on stdin (UTF-8), ``--voice``, ``--wav`` and ``--events`` paths.
Output: a 16-bit mono WAV, and a JSON of eSpeak's own word and sentence events (see
``events_json``; ``editai.tts.timings`` makes words of them). Exit codes: the ``EXIT_*``
constants; a short reason goes to stderr.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_UNKNOWN_VOICE = 3
EXIT_FAILED = 4

# speak_lib.h
AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_INITIALIZE_DONT_EXIT = 0x8000
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
ESPEAK_ENDPAUSE = 0x1000
EE_OK = 0
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
EVENT_SENTENCE = 2
EVENT_END = 5
EVENT_MSG_TERMINATED = 6


class EspeakEvent(ctypes.Structure):
    """``espeak_EVENT``: positions are 1-based characters; audio_position is in ms."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),  # a union of int, char* and char[8]
    ]


SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(EspeakEvent)
)


@dataclass(frozen=True)
class Event:
    kind: int
    text_position: int
    length: int
    audio_ms: int


class SynthesisError(Exception):
    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def synthesize(text: str, voice: str) -> tuple[bytes, int, list[Event]]:
    """(16-bit little-endian mono samples, sample rate, eSpeak's events) for ``text``."""
    from editai.payloads import PayloadError
    from editai.tts.espeak_files import espeak_data, espeak_library

    try:
        library, data_dir = espeak_library(), espeak_data()
    except PayloadError as exc:
        raise SynthesisError(str(exc)) from exc
    lib = ctypes.CDLL(str(library))
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
        ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip
    rate = lib.espeak_Initialize(
        AUDIO_OUTPUT_SYNCHRONOUS,
        0,
        str(data_dir).encode(),
        ESPEAK_INITIALIZE_DONT_EXIT,
    )
    if rate <= 0:
        raise SynthesisError("eSpeak NG could not start")
    chunks: list[bytes] = []
    events: list[Event] = []

    def on_audio(wav: Any, count: int, found: Any) -> int:
        if wav and count > 0:
            chunks.append(ctypes.string_at(wav, count * 2))
        index = 0
        while found[index].type != EVENT_LIST_TERMINATED:
            e = found[index]
            events.append(Event(e.type, e.text_position, e.length, e.audio_position))
            index += 1
        return 0  # continue

    callback = SynthCallback(on_audio)  # kept referenced until synthesis ends
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
        raise SynthesisError(f"eSpeak NG has no voice {voice!r}", EXIT_UNKNOWN_VOICE)
    data = ctypes.create_string_buffer(text.encode("utf-8"))
    status = lib.espeak_Synth(
        data, len(data), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8 | ESPEAK_ENDPAUSE, None, None
    )
    if status != EE_OK or lib.espeak_Synchronize() != EE_OK:
        raise SynthesisError(f"eSpeak NG failed to speak (status {status})")
    lib.espeak_Terminate()
    return b"".join(chunks), rate, events


def events_json(events: list[Event], total_ms: int) -> dict[str, object]:
    """Word starts and sentence/message boundaries as ``[kind, character index, seconds]``
    (0-based index into the text); turning them into words is the parent's job."""
    kinds = {
        EVENT_WORD: "word",
        EVENT_SENTENCE: "sentence",
        EVENT_END: "end",  # of a sentence or clause
        EVENT_MSG_TERMINATED: "end",
    }
    return {
        "duration": total_ms / 1000,
        "events": [
            [kinds[e.kind], max(e.text_position - 1, 0), e.audio_ms / 1000]
            for e in events
            if e.kind in kinds
        ],
    }


def write_wav(path: Path, samples: bytes, rate: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Speak stdin with eSpeak NG into a WAV file.")
    parser.add_argument("--voice", required=True)
    parser.add_argument("--wav", type=Path, required=True)
    parser.add_argument("--events", type=Path, required=True)
    args = parser.parse_args(argv)
    text = sys.stdin.buffer.read().decode("utf-8")
    try:
        samples, rate, events = synthesize(text, args.voice)
    except SynthesisError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    total_ms = len(samples) // 2 * 1000 // rate
    write_wav(args.wav, samples, rate)
    args.events.write_text(json.dumps(events_json(events, total_ms)), encoding="utf-8")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
