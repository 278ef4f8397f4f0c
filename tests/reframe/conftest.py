from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from editai.media.binaries import Binaries
from tests.pipeline.conftest import env  # noqa: F401 - the pipeline's app with a worker
from tests.reframe import videos


@pytest.fixture(scope="session")
async def face_videos(
    binaries: Binaries, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """The face test videos (videos.ALL), made once per session, concurrently."""
    folder = tmp_path_factory.mktemp("face-videos")
    paths = await asyncio.gather(
        *(videos.make_face_video(binaries, folder, video) for video in videos.ALL)
    )
    return {video.name: path for video, path in zip(videos.ALL, paths, strict=True)}
