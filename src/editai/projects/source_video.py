"""Uploading a project's source video: stage, probe, store, record (one unit of work).

The server builds every key. On local disk the uploaded bytes are copied (with the size
cap) to a staging file in the project's directory, probed there, and renamed to
``source-<uuid>.<ext>``. With S3 they streamed into a multipart upload on a staging key
while the body arrived (graphql/upload_streaming.py): the probe runs on the request's
local spool, then the upload is completed and copied to its key by the store. The
extension comes from the probed container. The client's filename is kept for display
only; it never reaches a key.
"""

from __future__ import annotations

import asyncio
import os
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.ext.asyncio import AsyncSession

from editai.db.base import utcnow
from editai.errors import BadUserInput, NotFound, ServiceUnavailable
from editai.logging import get_logger
from editai.media.ffmpeg import InvalidMediaError, probe_video
from editai.media.storage import StoragePathError, StorageUnavailable, StreamingUpload
from editai.projects.models import Project
from editai.projects.repository import ProjectRepository
from editai.projects.service import ProjectService
from editai.quotas.service import StorageQuota, quota_exceeded
from editai.runtime import Runtime
from editai.transcripts.repository import TranscriptRepository

log = get_logger(__name__)

COPY_CHUNK_BYTES = 1024 * 1024
FILENAME_MAX = 255
# ffprobe's format_name -> the extension of the stored file (the first name that matches).
_SUFFIX_BY_FORMAT = {
    "mp4": ".mp4",
    "mov": ".mov",
    "webm": ".webm",
    "matroska": ".mkv",
    "avi": ".avi",
    "mpegts": ".ts",
    "mpeg": ".mpg",
}


class UploadTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size  # the upload's size, or the bytes read before it passed the cap


@dataclass(frozen=True, slots=True)
class SourceVideoChange:
    project: Project
    stored: str  # relative to the media root
    replaced: str | None  # the previous source file, to remove once committed


@dataclass(frozen=True, slots=True)
class StreamedSource:
    """An upload already on its way into the store, and its local spool (for the probe)."""

    spool: Path
    upload: StreamingUpload = field(compare=False)


def display_filename(raw: str | None) -> str | None:
    """The client's filename, fit for display: last path component, no control characters."""
    if not raw:
        return None
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    # Cc/Cf: control and format characters (e.g. U+202E right-to-left override).
    name = "".join(" " if unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"} else c for c in name)
    name = " ".join(name.split())[:FILENAME_MAX].strip()
    return name or None


def suffix_for(format_name: str) -> str:
    names = format_name.split(",")
    for key, suffix in _SUFFIX_BY_FORMAT.items():
        if key in names:
            return suffix
    return ".bin"  # decodable but unusual; the extension only feeds the download's media type


def _copy_capped(source: BinaryIO, target: Path, max_bytes: int) -> int:
    """Copy ``source`` (from its start) into a new file ``target``; stop past ``max_bytes``."""
    source.seek(0, os.SEEK_END)
    if source.tell() > max_bytes:
        raise UploadTooLarge(source.tell())  # before anything is created
    if source.tell() == 0:
        return 0
    source.seek(0)
    target.parent.mkdir(parents=True, exist_ok=True)
    copied = 0
    with target.open("xb") as out:
        while chunk := source.read(COPY_CHUNK_BYTES):
            copied += len(chunk)
            if copied > max_bytes:
                raise UploadTooLarge(copied)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return copied


def _spooled_size(source: BinaryIO) -> int:
    source.flush()  # ffprobe reads the spool by its path
    return source.seek(0, os.SEEK_END)


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


class SourceVideoService:
    """Flushes, never commits. Call ``discard()`` if the unit of work does not commit."""

    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.storage = runtime.storage
        self.max_bytes = runtime.settings.max_upload_bytes
        self.quota = StorageQuota(session, runtime.settings.profile_storage_quota_bytes)
        self.repo = ProjectRepository(session)
        self._staged: Path | None = None
        self._streamed: StreamingUpload | None = None
        self._written: str | None = None  # the stored key, until the commit

    async def replace(
        self,
        project_id: uuid.UUID,
        source: BinaryIO,
        filename: str | None,
        streamed: StreamedSource | None = None,
    ) -> SourceVideoChange:
        self._streamed = streamed.upload if streamed is not None else None
        try:
            # Unknown or foreign project: NOT_FOUND before a byte is stored for good.
            project = await ProjectService(self.session).get(project_id)
            return await self._store(project, source, filename, streamed)
        except BaseException:
            await self.discard()
            raise

    async def _stage(
        self, project: Project, source: BinaryIO, streamed: StreamedSource | None, cap: int
    ) -> tuple[int, Path]:
        """The upload's size and a local file to probe."""
        if streamed is not None:  # already spooled locally (and on its way into the store)
            size = await asyncio.to_thread(_spooled_size, source)
            if size > cap:
                raise UploadTooLarge(size)
            return size, streamed.spool
        assert project.profile_id is not None
        self._staged = staged = self.storage.staging_file(project.profile_id, project.id)
        return await asyncio.to_thread(_copy_capped, source, staged, cap), staged

    async def _store(
        self,
        project: Project,
        source: BinaryIO,
        filename: str | None,
        streamed: StreamedSource | None,
    ) -> SourceVideoChange:
        assert project.profile_id is not None
        # The quota's room counts the source this upload replaces as freed.
        freed = project.source_size_bytes or 0
        cap, used = await self.quota.upload_cap(self.max_bytes, freed)
        try:
            size, local = await self._stage(project, source, streamed, cap)
        except UploadTooLarge as exc:
            if exc.size > self.max_bytes or self.quota.quota is None:
                raise BadUserInput(
                    f"The upload is larger than the maximum of {self.max_bytes} bytes",
                    field="file",
                ) from None
            raise quota_exceeded(used - freed, self.quota.quota, exc.size, "The upload") from None
        if size == 0:
            raise BadUserInput("The file is empty", field="file")
        await self.quota.check_upload(size, freed)
        try:
            probe = await probe_video(self.runtime.binaries, local)
        except InvalidMediaError as exc:
            raise BadUserInput(f"The file is not a decodable video: {exc}", field="file") from None

        final = self.storage.source_key(
            project.profile_id, project.id, suffix_for(probe.format_name)
        )
        self._written = final  # set first: a store that failed half-way is cleaned too
        try:
            if streamed is not None:
                await streamed.upload.store_as(final)  # a copy inside the store
            else:
                await self.storage.publish(local, final, multipart=True)
        except StorageUnavailable as exc:
            raise ServiceUnavailable(f"The video could not be stored: {exc}") from None
        self._staged = None

        # Re-read under a row lock: of two concurrent uploads, each replaces what the
        # other committed, so every superseded file is removed by exactly one of them.
        locked = await self.repo.get_for_update(project.id)
        if locked is None:
            raise NotFound("Project not found")  # deleted meanwhile
        replaced = locked.source_path
        locked.source_path = final
        locked.source_filename = display_filename(filename)
        locked.source_duration_seconds = probe.duration_seconds
        locked.source_width = probe.width
        locked.source_height = probe.height
        locked.source_fps = probe.fps
        locked.source_video_codec = probe.video_codec
        locked.source_audio_codec = probe.audio_codec
        locked.source_size_bytes = size
        locked.source_uploaded_at = utcnow()
        # The transcript described the old audio: it goes in the same transaction.
        await TranscriptRepository(self.session).delete_for_project(project.id)
        await self.session.flush()
        # With the row written, under the profile's lock: a concurrent upload of the
        # profile counts this one (the stored object goes with a refusal, see discard).
        await self.quota.check_written_upload(size)
        return SourceVideoChange(locked, locked.source_path, replaced)

    async def discard(self) -> None:
        """Remove what this upload wrote (the transaction did not commit)."""
        staged, self._staged = self._staged, None
        written, self._written = self._written, None
        streamed, self._streamed = self._streamed, None
        if streamed is not None:
            await streamed.discard()  # the multipart upload or staging object; no-op once stored
        if staged is not None:
            await asyncio.to_thread(_unlink, staged)
        if written is not None:
            try:
                await self.storage.remove_file(written)
            except StorageUnavailable:
                # The store is down: the object, if any, has no row; the sweeper takes it.
                log.warning("could not remove an uncommitted upload", key=written)

    async def remove_replaced(self, change: SourceVideoChange) -> None:
        """After the commit: the previous source file is no longer referenced."""
        if not change.replaced or change.replaced == change.stored:
            return
        try:
            await self.storage.remove_file(change.replaced)
        except (OSError, StoragePathError, StorageUnavailable):
            log.warning("could not remove the replaced source video", path=change.replaced)
