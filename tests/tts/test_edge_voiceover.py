"""A profile speaking with Edge TTS, end to end: synthesizeVoiceover through the job to a
stored voice-over whose word timings are the ones Edge sent (the fake, over real TLS)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.media.binaries import Binaries
from tests.fakes.edge_tts import TICKS_PER_SECOND, FakeEdgeTts, TlsFiles
from tests.fakes.server import RunningServer
from tests.tts.conftest import measure, result_voiceover_id, synthesize, tts_env, voiceover

TEXT = "Edge speaks these six words now"
VOICE = "en-US-AriaNeural"


async def test_profile_on_edge_gets_edges_word_timings(
    engine: AsyncEngine,
    tmp_path: Path,
    binaries: Binaries,
    fake: FakeEdgeTts,
    server: RunningServer,
    tls: TlsFiles,
) -> None:
    settings = {"edge_tts_connect_to": f"127.0.0.1:{server.port}", "edge_tts_ca_file": tls.ca_file}
    async with tts_env(engine, tmp_path, **settings) as env:
        user = await env.api.new_user()
        profile = await user.create_profile("Edge brand", ttsProvider="EDGE", ttsVoiceId=VOICE)
        project = await user.create_project("Voice", profile_id=profile)
        run = await synthesize(env, user, project, TEXT, profile_id=profile)
        assert run.job["status"] == "SUCCEEDED", run.job
        got = await voiceover(user, result_voiceover_id(run), profile_id=profile)

        [connection] = fake.connections
        [turn] = connection.turns
        assert (turn.voice, turn.text) == (VOICE, TEXT)
        assert (got["provider"], got["voiceId"], got["timingsFromProvider"]) == (
            "EDGE", VOICE, True,
        )  # fmt: skip
        sent = [
            (w.text, w.offset / TICKS_PER_SECOND, (w.offset + w.duration) / TICKS_PER_SECOND)
            for w in turn.words
        ]
        stored = [(w["text"], w["startSeconds"], w["endSeconds"]) for w in got["words"]]
        assert [text for text, _, _ in stored] == TEXT.split()
        assert [text for text, _, _ in sent] == TEXT.split()
        for (_, start, end), (_, sent_start, sent_end) in zip(stored, sent, strict=True):
            assert start == pytest.approx(sent_start, abs=0.002)
            assert end == pytest.approx(sent_end, abs=0.002)

        audio = await env.download(got["downloadUrl"], tmp_path, "edge.m4a")
        facts = await measure(binaries, audio)
        assert (facts.codec, facts.sample_rate, facts.channels) == ("aac", 48000, 1)
        assert facts.duration == pytest.approx(turn.audio_seconds, abs=0.1)
        assert got["durationSeconds"] == pytest.approx(facts.duration, abs=0.05)
