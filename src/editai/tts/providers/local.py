"""LOCAL: eSpeak NG from the espeakng-loader wheel. No key, no network.

The synthesizer runs in a child process (``editai.tts.espeak_synth``): the library blocks
while it speaks and lives in C, so neither can stall or crash the server. The child is
started by ``editai.child_processes``: cancelling the awaiting task kills its whole process
group, and it dies with the worker that started it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from editai.child_processes import start_child, stop_child
from editai.integrations.errors import ProviderRequestError, ProviderUnavailable
from editai.settings import Settings
from editai.tts import espeak_synth
from editai.tts.espeak_voices import is_known_voice
from editai.tts.providers.base import Speech
from editai.tts.timings import words_from_events

PROVIDER = "eSpeak NG"
# A 5000-character text takes eSpeak about a second; this only stops a hung child.
SYNTHESIS_LIMIT_SECONDS = 300.0


class LocalTtsProvider:
    name = "LOCAL"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def default_voice(self) -> str:
        return self.settings.local_tts_voice

    @staticmethod
    def is_known_voice(voice_id: str) -> bool:
        return is_known_voice(voice_id)

    async def synthesize(self, text: str, voice_id: str, work_dir: Path) -> Speech:
        if not is_known_voice(voice_id):
            raise ProviderRequestError(PROVIDER, f"eSpeak NG has no voice named {voice_id!r}")
        await asyncio.to_thread(work_dir.mkdir, parents=True, exist_ok=True)
        wav, events_json = work_dir / "espeak.wav", work_dir / "espeak-events.json"
        command = [sys.executable, "-m", espeak_synth.__name__, "--voice", voice_id]
        command += ["--wav", str(wav), "--events", str(events_json)]
        code, stderr = await _run_child(command, text.encode("utf-8"))
        if code == espeak_synth.EXIT_UNKNOWN_VOICE:
            raise ProviderRequestError(PROVIDER, f"eSpeak NG has no voice named {voice_id!r}")
        if code != espeak_synth.EXIT_OK:
            reason = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise ProviderUnavailable(
                PROVIDER, f"eSpeak NG failed (exit code {code}: {reason[0][:200]})"
            )
        raw = json.loads(await asyncio.to_thread(events_json.read_text, encoding="utf-8"))
        events = [(str(kind), int(position), float(at)) for kind, position, at in raw["events"]]
        return Speech(audio_path=wav, words=words_from_events(text, events, float(raw["duration"])))


async def _run_child(cmd: list[str], stdin: bytes) -> tuple[int, bytes]:
    """Run ``cmd`` in its own process group with ``stdin``; (exit code, stderr)."""
    process = await start_child(
        *cmd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(
            process.communicate(stdin), timeout=SYNTHESIS_LIMIT_SECONDS
        )
    except TimeoutError as exc:
        await stop_child(process)
        raise ProviderUnavailable(PROVIDER, "eSpeak NG did not finish in time") from exc
    except BaseException:
        await stop_child(process)
        raise
    return process.returncode or 0, stderr
