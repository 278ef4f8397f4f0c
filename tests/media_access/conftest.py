"""Uploads and downloads through the app: real FFmpeg-made files, real multipart requests.

Each test gets its own app over its own test database with a fresh data dir (media
root, temp dir), so "nothing left on disk" can be checked by walking it.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.media.binaries import Binaries, find_binaries
from editai.projects.models import Project
from tests.api import GraphQLResult, TestUser
from tests.app_env import AppEnv, serving
from tests.conftest import make_settings
from tests.filesystem import files_under

UPLOAD = """
mutation($projectId: ID!, $file: Upload!) {
  uploadSourceVideo(projectId: $projectId, file: $file) {
    id
    sourceVideo {
      filename durationSeconds width height fps sizeBytes videoCodec audioCodec codecs
      downloadUrl
    }
  }
}
"""

BOUNDARY = "editai-test-boundary"


def multipart_parts(project_id: str, size: int, chunk: int = 64 * 1024) -> list[bytes]:
    """A spec multipart body, by hand, with a file of ``size`` zero bytes in ``chunk`` pieces."""
    operations = json.dumps({"query": UPLOAD, "variables": {"projectId": project_id, "file": None}})
    head = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="operations"\r\n\r\n'
        f"{operations}\r\n"
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="map"\r\n\r\n'
        '{"0": ["variables.file"]}\r\n'
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="0"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    block = bytes(chunk)
    full, rest = divmod(size, chunk)
    return [head, *([block] * full), bytes(rest), f"\r\n--{BOUNDARY}--\r\n".encode()]


def upload_headers(token: str) -> dict[str, str]:
    headers = {
        "Apollo-Require-Preflight": "true",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


@dataclass(frozen=True)
class Samples:
    video: bytes  # 2 s 320x180 testsrc2 + 440 Hz sine, H.264 + AAC, MP4 (moov at the end)
    video_b: bytes  # 1 s 160x90, another picture: a second, different source
    audio_only: bytes  # AAC in M4A
    truncated: bytes  # first half of ``video``: no moov atom
    corrupt: bytes  # ``video`` with faststart and random bytes over the media data


async def _ffmpeg(binaries: Binaries, *args: str) -> None:
    process = await asyncio.create_subprocess_exec(
        binaries.ffmpeg,
        "-hide_banner", "-nostdin", "-v", "error", "-y",
        *args,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode(errors="replace")


def _av(size: str, seconds: int, source: str, out: Path) -> tuple[str, ...]:
    return (
        "-f", "lavfi", "-i", f"{source}=size={size}:rate=25:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-shortest", str(out),
    )  # fmt: skip


@pytest.fixture(scope="session")
async def samples(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    binaries = find_binaries()
    folder = tmp_path_factory.mktemp("upload-samples")
    video, video_b = folder / "video.mp4", folder / "video-b.mp4"
    audio, faststart = folder / "audio.m4a", folder / "faststart.mp4"
    await asyncio.gather(
        _ffmpeg(binaries, *_av("320x180", 2, "testsrc2", video)),
        _ffmpeg(binaries, *_av("160x90", 1, "testsrc", video_b)),
        _ffmpeg(
            binaries,
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=2",
            "-c:a",
            "aac",
            str(audio),
        ),
    )
    await _ffmpeg(
        binaries, "-i", str(video), "-c", "copy", "-movflags", "+faststart", str(faststart)
    )
    data = video.read_bytes()
    fast = bytearray(faststart.read_bytes())
    rng = random.Random(7)
    for at in range(fast.find(b"mdat") + 4, len(fast)):
        fast[at] = rng.randrange(256)
    return Samples(
        video=data,
        video_b=video_b.read_bytes(),
        audio_only=audio.read_bytes(),
        truncated=data[: len(data) // 2],
        corrupt=bytes(fast),
    )


@dataclass
class Env(AppEnv):
    async def upload(
        self,
        user: TestUser,
        project_id: str,
        content: bytes,
        filename: str = "clip.mp4",
        *,
        profile_id: str | None = None,
    ) -> GraphQLResult:
        return await user.upload(
            UPLOAD,
            {"projectId": project_id},
            {"file": (filename, content)},
            profile_id=profile_id,
        )

    async def project_row(self, project_id: str) -> Project:
        async with self.runtime.sessions.system() as session:
            row = await session.scalar(select(Project).where(Project.id == uuid.UUID(project_id)))
        assert row is not None
        return row

    def upload_temp_files(self) -> list[Path]:
        return files_under(self.storage.upload_temp_dir())


EnvFactory = Callable[..., AbstractAsyncContextManager[Env]]


@pytest.fixture
def make_env(engine: AsyncEngine, tmp_path: Path) -> EnvFactory:
    """An app with its own data dir (and any settings overrides) on the test database."""
    counter = iter(range(1000))

    @asynccontextmanager
    async def running(**overrides: Any) -> AsyncIterator[Env]:
        data_dir = tmp_path / f"app{next(counter)}"
        url = engine.url.render_as_string(hide_password=False)
        settings = make_settings(data_dir, url, **overrides)
        async with serving(settings, engine, Env) as env:
            yield env

    return running


@pytest.fixture
async def env(make_env: EnvFactory) -> AsyncIterator[Env]:
    async with make_env() as running:
        yield running
