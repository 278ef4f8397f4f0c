"""MediaStorage: what the rest of the server uses. Keys from ids, per-job temp dirs, and
the chosen backend (local disk or S3) behind the ObjectStore interface."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path

from editai.logging import get_logger
from editai.media.storage import keys
from editai.media.storage.base import (
    ObjectStore,
    StorageUnavailable,
    StoredObject,
    StreamingUpload,
)
from editai.media.storage.local import LocalStore

log = get_logger(__name__)

UPLOAD_SPOOL_GLOB = ".upload-*.part"  # the spool files named below and in graphql/uploads.py


class MediaStorage:
    def __init__(self, store: ObjectStore, temp_root: Path) -> None:
        self.store = store
        self.temp_root = temp_root.resolve()

    @property
    def local(self) -> LocalStore | None:
        """The filesystem backend when it is the one in use (its /media route serves it)."""
        return self.store if isinstance(self.store, LocalStore) else None

    # --- keys (see keys.py) --------------------------------------------------------------
    source_key = staticmethod(keys.source_key)
    clip_key = staticmethod(keys.clip_key)
    export_key = staticmethod(keys.export_key)
    voiceover_key = staticmethod(keys.voiceover_key)

    # --- temp dirs -------------------------------------------------------------------------
    def job_temp_dir(self, project_id: uuid.UUID | None, job_id: uuid.UUID) -> Path:
        """Per job, so two jobs of one project never collide."""
        return self.temp_root / str(project_id or "no-project") / str(job_id)

    def upload_temp_dir(self) -> Path:
        return self.temp_root / "uploads"

    async def remove_stale_upload_spool(
        self, older_than_seconds: float, *, now: float | None = None
    ) -> list[Path]:
        """Start-up: spool files left in ``upload_temp_dir`` by a server killed mid-upload
        (a request that ends any other way removes its own). Only files unchanged for
        ``older_than_seconds`` go: another server sharing this temp dir may be receiving
        an upload right now, and its file changes as the body arrives."""
        cutoff = (time.time() if now is None else now) - older_than_seconds
        return await asyncio.to_thread(_remove_older, self.upload_temp_dir(), cutoff)

    # --- objects -----------------------------------------------------------------------------
    def staging_file(self, profile_id: uuid.UUID, project_id: uuid.UUID) -> Path:
        """Where an upload is written and probed before it is stored."""
        name = f".upload-{uuid.uuid4().hex}.part"
        return self.store.staging_file(keys.project_prefix(profile_id, project_id) + name, name)

    def streaming_upload(self) -> StreamingUpload | None:
        """An upload into the store fed while the request body arrives (S3); None on disk."""
        return self.store.streaming_upload()

    async def publish(self, source: Path, key: str, *, multipart: bool = False) -> int:
        """Store a finished local file under ``key`` (consuming it); returns its size."""
        return await self.store.put_file(key, source, multipart=multipart)

    async def fetch(self, key: str, target: Path) -> None:
        await self.store.fetch(key, target)

    async def readable_path(self, key: str, work_dir: Path) -> Path:
        return await self.store.readable_path(key, work_dir)

    async def remove_file(self, key: str | None) -> None:
        if key:
            await self.store.delete(key)

    async def remove_clip(self, media_key: str | None, export_key: str | None) -> None:
        """A deleted clip's objects: its cut and its export, the keys its row named.
        Per key, not by prefix: a clip's objects share the project's folders (keys.py)."""
        for key in (media_key, export_key):
            await self.remove_file(key)

    async def remove_project(self, profile_id: uuid.UUID, project_id: uuid.UUID) -> None:
        await self.store.delete_prefix(keys.project_prefix(profile_id, project_id))

    async def remove_profile(self, profile_id: uuid.UUID) -> None:
        await self.store.delete_prefix(keys.profile_prefix(profile_id))

    async def after_commit(self, removal: Awaitable[None]) -> None:
        """Run a removal whose rows are already gone: a store that is down then leaves
        orphans for the sweeper (media/sweeper.py) instead of failing a done deletion."""
        try:
            await removal
        except StorageUnavailable as exc:
            log.warning("media left for the orphan sweeper", error=str(exc))

    async def list(self, prefix: str = "") -> list[StoredObject]:
        return await self.store.list(prefix)

    def download_url(
        self, key: str, ttl_seconds: int, *, now: float | None = None, filename: str | None = None
    ) -> str:
        return self.store.download_url(key, ttl_seconds, now=now, filename=filename)


def _remove_older(folder: Path, cutoff: float) -> list[Path]:
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for path in folder.glob(UPLOAD_SPOOL_GLOB):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            continue  # its request ended (or another server swept it) meanwhile
    return removed
