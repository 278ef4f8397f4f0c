"""Start-up removes the upload spool files a killed server left in ``<temp>/uploads``, and
only those: a file changed within the grace period may be another server's live upload."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import make_settings, running_app

GRACE = 3600.0


def spool_file(folder: Path, age_seconds: float) -> Path:
    path = folder / f".upload-{uuid.uuid4().hex}.part"
    path.write_bytes(b"part of an upload")
    at = time.time() - age_seconds
    os.utime(path, (at, at))
    return path


async def test_start_up_removes_only_spool_files_older_than_the_grace(
    sqlite_engine: AsyncEngine, run_dir: Path
) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    settings = make_settings(run_dir, url, media_orphan_grace_seconds=GRACE, embedded_worker=False)
    spool = settings.temp_root / "uploads"
    spool.mkdir(parents=True)
    dead = [spool_file(spool, 2 * GRACE), spool_file(spool, GRACE + 60)]
    # Inside the grace, however close to its end: maybe an upload still arriving elsewhere.
    live = [spool_file(spool, 0), spool_file(spool, GRACE - 60)]
    other = spool / "notes.txt"  # not a spool file the server names: never touched
    other.write_text("kept")
    os.utime(other, (0, 0))

    async with running_app(settings, sqlite_engine) as app:
        assert app.state.runtime.storage.upload_temp_dir() == spool.resolve()
        for path in dead:
            assert not path.exists(), path
        for path in live:
            assert path.is_file(), path
        assert other.is_file()
