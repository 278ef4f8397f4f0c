"""The storage interface: what the server and workers need from a place that keeps media.

Two backends: the local filesystem (the embedded default) and S3-compatible object
storage (multi-machine deployments). Keys are relative paths built by ``keys.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


class StorageUnavailable(Exception):
    """The store could not be reached or failed; the message is fit to show."""


class StorageConfigError(RuntimeError):
    """Start-up check failed (wrong credentials, no bucket): the process must not start."""


class ObjectMissing(FileNotFoundError):
    """No object under that key."""


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size: int
    modified: datetime  # aware, UTC


class StreamingUpload(ABC):
    """A file sent into the store while it is being received (see s3_upload.py)."""

    size: int

    @abstractmethod
    async def write(self, data: bytes) -> None:
        """The next bytes of the file (may wait: backpressure on the sender)."""

    @abstractmethod
    async def store_as(self, key: str) -> int:
        """Finish and store the file under ``key``; returns its size."""

    @abstractmethod
    async def discard(self) -> None:
        """Leave nothing behind (idempotent; a no-op once stored)."""


class ObjectStore(ABC):
    """An async store of files under keys. Every method is safe to call concurrently."""

    async def start(self) -> None:  # noqa: B027 - optional: nothing to check on disk
        """Connect and check the configuration; raises StorageConfigError."""

    async def close(self) -> None:  # noqa: B027 - optional: nothing to release on disk
        """Release connections."""

    def streaming_upload(self) -> StreamingUpload | None:
        """A store that takes a file while it arrives; None: spool it, then ``put_file``."""
        return None

    @abstractmethod
    def staging_file(self, key: str, name: str) -> Path:
        """A local path where a file bound for ``key`` can be written before ``put_file``
        (next to its target on disk; the temp dir for a bucket)."""

    @abstractmethod
    async def put_file(self, key: str, source: Path, *, multipart: bool = False) -> int:
        """Store the local file ``source`` under ``key`` (replacing what is there) and
        consume it; returns its size. Readers never see half an object. On failure
        nothing new is left under ``key`` (an incomplete multipart upload is aborted)."""

    @abstractmethod
    async def fetch(self, key: str, target: Path) -> None:
        """Copy the object into the local file ``target``; ObjectMissing when absent."""

    @abstractmethod
    async def readable_path(self, key: str, work_dir: Path) -> Path:
        """A local path FFmpeg can read the object from: the file itself on disk, a copy
        fetched into ``work_dir`` for a bucket."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove one object (absent is fine)."""

    @abstractmethod
    async def delete_prefix(self, prefix: str) -> None:
        """Remove every object under ``prefix`` (ending in ``/``)."""

    @abstractmethod
    async def list(self, prefix: str = "") -> list[StoredObject]:
        """Every object under ``prefix``, with its size and last change."""

    @abstractmethod
    def download_url(
        self, key: str, ttl_seconds: int, *, now: float | None = None, filename: str | None = None
    ) -> str:
        """A URL that fetches the object (with Range) until it expires."""
