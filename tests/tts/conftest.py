"""Voice-over tests: apps with the embedded worker, a fake ElevenLabs on 127.0.0.1, and
measurements of the audio with FFmpeg."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from edge_tts.drm import DRM
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.costs.models import ApiCost
from editai.jobs.models import Job
from editai.media.binaries import Binaries
from editai.media.ffmpeg import run_ffmpeg_stderr
from editai.tts.models import Voiceover
from tests.api import TestUser
from tests.fakes.edge_tts import FakeEdgeTts, TlsFiles, make_tls_files
from tests.fakes.elevenlabs import FakeElevenLabs
from tests.fakes.server import RunningServer, serve_app
from tests.pipeline.conftest import JOB_FIELDS, Env, JobRun, open_env

SERVER_KEY = "el-server-key-7c1f"
PROFILE_KEY = "el-profile-key-93ab"

SYNTHESIZE = (
    "mutation($p: ID!, $text: String!, $input: SynthesizeVoiceoverInput) "
    f"{{ synthesizeVoiceover(projectId: $p, text: $text, input: $input) {{ {JOB_FIELDS} }} }}"
)
VOICEOVER_FIELDS = """
id text provider voiceId characters durationSeconds timingsFromProvider
words { text startSeconds endSeconds } downloadUrl createdAt
"""
VOICEOVER = f"query($id: ID!) {{ voiceover(id: $id) {{ {VOICEOVER_FIELDS} }} }}"
PROJECT_VOICEOVERS = (
    f"query($p: ID!) {{ project(id: $p) {{ voiceovers {{ {VOICEOVER_FIELDS} }} }} }}"
)
DELETE_VOICEOVER = "mutation($id: ID!) { deleteVoiceover(id: $id) }"
DELETE_PROJECT = "mutation($id: ID!) { deleteProject(id: $id) }"
USAGE = """
{ usage { elevenlabs {
  status configured keySource error tier characterCount characterLimit charactersRemaining resetsAt
} } }
"""


@asynccontextmanager
async def fake_elevenlabs(
    binaries: Binaries, work_dir: Path, **fields: Any
) -> AsyncIterator[tuple[FakeElevenLabs, str]]:
    fake = FakeElevenLabs(binaries=binaries, work_dir=work_dir, **fields)
    async with serve_app(fake.app) as server:
        yield fake, server.url


@asynccontextmanager
async def tts_env(
    engine: AsyncEngine, tmp_path: Path, base_url: str | None = None, **overrides: Any
) -> AsyncIterator[Env]:
    """An app (embedded worker) whose ElevenLabs base URL points at a fake."""
    settings: dict[str, Any] = {"job_retry_base_seconds": 0.05, **overrides}
    if base_url is not None:
        settings["elevenlabs_base_url"] = base_url
    if isinstance(settings.get("elevenlabs_api_key"), str):
        settings["elevenlabs_api_key"] = SecretStr(settings["elevenlabs_api_key"])
    async with open_env(engine, tmp_path, **settings) as env:
        yield env


async def synthesize(
    env: Env,
    user: TestUser,
    project_id: str,
    text: str,
    profile_id: str | None = None,
    **input_fields: Any,
) -> JobRun:
    """Run synthesizeVoiceover to its end (any outcome)."""
    variables = {"p": project_id, "text": text, "input": input_fields or None}
    job = await env.start(user, SYNTHESIZE, variables, profile_id=profile_id)
    return await env.wait(user, job["id"], within=60, profile_id=profile_id)


async def voiceover(user: TestUser, voiceover_id: str, profile_id: str | None = None) -> Any:
    return (await user.gql(VOICEOVER, {"id": voiceover_id}, profile_id=profile_id)).ok()[
        "voiceover"
    ]


@dataclass(frozen=True)
class AudioFacts:
    codec: str
    sample_rate: int
    channels: int
    duration: float
    mean_db: float
    max_db: float


async def measure(binaries: Binaries, path: Path) -> AudioFacts:
    """Codec and length (ffprobe) and loudness (volumedetect) of an audio file."""
    from editai.media.ffmpeg import probe_json

    info = await probe_json(binaries, path)
    (stream,) = [s for s in info["streams"] if s["codec_type"] == "audio"]
    lines = await run_ffmpeg_stderr(
        binaries, ["-i", str(path), "-af", "volumedetect", "-f", "null", "-"]
    )
    text = "\n".join(lines)

    def level(name: str) -> float:
        found = re.search(rf"{name}:\s*(-?[\d.]+|-inf) dB", text)
        assert found, text[-2000:]
        return float(found.group(1)) if found.group(1) != "-inf" else float("-inf")

    return AudioFacts(
        codec=stream["codec_name"],
        sample_rate=int(stream["sample_rate"]),
        channels=int(stream["channels"]),
        duration=float(stream.get("duration") or info["format"]["duration"]),
        mean_db=level("mean_volume"),
        max_db=level("max_volume"),
    )


async def counts(env: Env) -> dict[str, int]:
    """Rows of the whole database: jobs, voiceovers, api_costs."""
    async with env.runtime.sessions.system() as session:
        return {
            name: int(await session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in (("jobs", Job), ("voiceovers", Voiceover), ("costs", ApiCost))
        }


async def costs_of_job(env: Env, job_id: str) -> list[ApiCost]:
    async with env.runtime.sessions.system() as session:
        rows = await session.scalars(select(ApiCost).where(ApiCost.job_id == uuid.UUID(job_id)))
        return list(rows.all())


def result_voiceover_id(run: JobRun) -> str:
    result = run.job["result"]
    assert isinstance(result, dict), run.job
    return str(result["voiceover_id"])


# --- Edge TTS: a fake of Microsoft's speech service over real TLS -----------------------


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("edge-tls"))


@pytest.fixture(autouse=True)
def _restore_edge_clock() -> Iterator[None]:
    """edge-tts corrects a process-wide clock skew after a 403; keep tests independent."""
    saved = DRM.clock_skew_seconds
    yield
    DRM.clock_skew_seconds = saved


@pytest.fixture
def fake(binaries: Binaries) -> FakeEdgeTts:
    return FakeEdgeTts(binaries)


@pytest.fixture
async def server(fake: FakeEdgeTts, tls: TlsFiles) -> AsyncIterator[RunningServer]:
    async with serve_app(fake.app, ssl_certfile=tls.cert_file, ssl_keyfile=tls.key_file) as s:
        yield s
