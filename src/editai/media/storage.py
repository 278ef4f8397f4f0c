"""Local media storage. Every path is built here from ids; nothing from input reaches it.

Layout: ``<media_root>/<profile_id>/<project_id>/{source-*.ext, clips/, exports/, audio/}``.
The database stores paths relative to the root; ``resolve`` refuses anything outside it.
Downloads go through signed, expiring URLs (HMAC over path and expiry).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import shutil
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlencode

MEDIA_URL_PREFIX = "/media/"


class StoragePathError(ValueError):
    pass


class MediaStorage:
    def __init__(self, root: Path, temp_root: Path, secret_key: str) -> None:
        self.root = root.resolve()
        self.temp_root = temp_root.resolve()
        self._signing_key = hashlib.sha256(b"editai:media-url:v1:" + secret_key.encode()).digest()

    # --- paths -------------------------------------------------------------------------
    def profile_dir(self, profile_id: uuid.UUID) -> Path:
        return self.root / str(profile_id)

    def project_dir(self, profile_id: uuid.UUID, project_id: uuid.UUID) -> Path:
        return self.profile_dir(profile_id) / str(project_id)

    def source_path(self, profile_id: uuid.UUID, project_id: uuid.UUID, suffix: str) -> Path:
        safe = suffix.lower() if suffix.lower() in _VIDEO_SUFFIXES else ".bin"
        return self.project_dir(profile_id, project_id) / f"source-{uuid.uuid4().hex}{safe}"

    def clip_path(
        self,
        profile_id: uuid.UUID,
        project_id: uuid.UUID,
        clip_id: uuid.UUID,
        recut_job_id: uuid.UUID | None = None,
    ) -> Path:
        """A re-cut gets its own file (named by its job): the old one stays valid until the
        row points at the new one."""
        name = f"{clip_id}.mp4" if recut_job_id is None else f"{clip_id}-{recut_job_id}.mp4"
        return self.project_dir(profile_id, project_id) / "clips" / name

    def export_path(
        self, profile_id: uuid.UUID, project_id: uuid.UUID, clip_id: uuid.UUID, job_id: uuid.UUID
    ) -> Path:
        return self.project_dir(profile_id, project_id) / "exports" / f"{clip_id}-{job_id}.mp4"

    def voiceover_path(
        self, profile_id: uuid.UUID, project_id: uuid.UUID, voiceover_id: uuid.UUID
    ) -> Path:
        return self.project_dir(profile_id, project_id) / "audio" / f"{voiceover_id}.m4a"

    def job_temp_dir(self, project_id: uuid.UUID | None, job_id: uuid.UUID) -> Path:
        """Per job, so two jobs of one project never collide."""
        return self.temp_root / str(project_id or "no-project") / str(job_id)

    def upload_temp_dir(self) -> Path:
        return self.temp_root / "uploads"

    def relative(self, path: Path) -> str:
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            raise StoragePathError("path outside the media root")
        return resolved.relative_to(self.root).as_posix()

    def resolve(self, relative: str) -> Path:
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root) or candidate == self.root:
            raise StoragePathError("path outside the media root")
        return candidate

    # --- removal (off the event loop) -----------------------------------------------------
    async def remove_file(self, relative: str | None) -> None:
        if relative:
            path = self.resolve(relative)
            await asyncio.to_thread(path.unlink, missing_ok=True)

    async def remove_project(self, profile_id: uuid.UUID, project_id: uuid.UUID) -> None:
        await asyncio.to_thread(
            shutil.rmtree, self.project_dir(profile_id, project_id), ignore_errors=True
        )

    async def remove_profile(self, profile_id: uuid.UUID) -> None:
        await asyncio.to_thread(shutil.rmtree, self.profile_dir(profile_id), ignore_errors=True)

    # --- signed URLs ---------------------------------------------------------------------
    def _signature(self, relative: str, expires: int) -> str:
        mac = hmac.new(self._signing_key, f"{relative}\n{expires}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")

    def signed_url(self, relative: str, ttl_seconds: int, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + ttl_seconds)
        query = urlencode({"exp": expires, "sig": self._signature(relative, expires)})
        return f"{MEDIA_URL_PREFIX}{quote(relative)}?{query}"

    def verify(self, relative: str, expires: str, signature: str, now: float | None = None) -> bool:
        try:
            expires_at = int(expires)
        except ValueError:
            return False
        if expires_at < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(self._signature(relative, expires_at), signature)


_VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".ts"}
