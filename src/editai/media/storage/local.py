"""Media on the local filesystem: ``<media_root>/<key>``; the embedded default.

Downloads go through signed, expiring ``/media/<key>`` URLs (HMAC over key and expiry),
served with Range by media/downloads.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

from editai.media.storage.base import ObjectMissing, ObjectStore, StoredObject
from editai.media.storage.keys import StoragePathError, checked_key

MEDIA_URL_PREFIX = "/media/"


def _move(source: Path, target: Path) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    # Copy next to the target (temp and media may be different filesystems), then an
    # atomic rename: readers never see half a file.
    shutil.move(source, partial)
    os.replace(partial, target)
    return target.stat().st_size


def _copy(source: Path, target: Path) -> None:
    try:
        shutil.copyfile(source, target)
    except FileNotFoundError as exc:
        raise ObjectMissing(str(source)) from exc


def _walk(root: Path, start: Path) -> list[StoredObject]:
    found: list[StoredObject] = []
    if not start.is_dir():
        return found
    for folder, _dirs, files in os.walk(start):
        for name in files:
            path = Path(folder) / name
            try:
                info = path.stat()
            except FileNotFoundError:
                continue  # removed while we walked
            modified = datetime.fromtimestamp(info.st_mtime, UTC)
            found.append(StoredObject(path.relative_to(root).as_posix(), info.st_size, modified))
    return found


class LocalStore(ObjectStore):
    def __init__(self, root: Path, secret_key: str) -> None:
        self.root = root.resolve()
        self._signing_key = hashlib.sha256(b"editai:media-url:v1:" + secret_key.encode()).digest()

    # --- paths ---------------------------------------------------------------------------
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

    def _prefix_dir(self, prefix: str) -> Path:
        return self.resolve(checked_key(prefix.rstrip("/")))

    # --- ObjectStore -----------------------------------------------------------------------
    def staging_file(self, key: str, name: str) -> Path:
        # Beside the target: the final rename stays on one filesystem.
        return self.resolve(checked_key(key)).parent / name

    async def put_file(self, key: str, source: Path, *, multipart: bool = False) -> int:
        return await asyncio.to_thread(_move, source, self.resolve(checked_key(key)))

    async def fetch(self, key: str, target: Path) -> None:
        await asyncio.to_thread(_copy, self.resolve(checked_key(key)), target)

    async def readable_path(self, key: str, work_dir: Path) -> Path:
        return self.resolve(checked_key(key))

    async def delete(self, key: str) -> None:
        path = self.resolve(checked_key(key))
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def delete_prefix(self, prefix: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self._prefix_dir(prefix), ignore_errors=True)

    async def list(self, prefix: str = "") -> list[StoredObject]:
        start = self._prefix_dir(prefix) if prefix else self.root
        return await asyncio.to_thread(_walk, self.root, start)

    def download_url(
        self, key: str, ttl_seconds: int, *, now: float | None = None, filename: str | None = None
    ) -> str:
        return self.signed_url(key, ttl_seconds, now=now)

    # --- signed URLs -------------------------------------------------------------------------
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
