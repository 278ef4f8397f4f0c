from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from editai.media.binaries import Binaries
from tests.media import videos


@pytest.fixture(scope="session")
async def media(binaries: Binaries, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every test video, generated once per session (concurrently)."""
    folder = tmp_path_factory.mktemp("media-videos")
    paths = await asyncio.gather(
        *(videos.make_video(binaries, spec, folder) for spec in videos.ALL)
    )
    return {spec.name: path for spec, path in zip(videos.ALL, paths, strict=True)}
