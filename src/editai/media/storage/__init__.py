"""Media storage behind a small interface: local disk (default) or S3-compatible."""

from __future__ import annotations

from typing import TYPE_CHECKING

from editai.media.storage.base import (
    ObjectMissing,
    ObjectStore,
    StorageConfigError,
    StorageUnavailable,
    StoredObject,
    StreamingUpload,
)
from editai.media.storage.keys import StoragePathError
from editai.media.storage.local import MEDIA_URL_PREFIX, LocalStore
from editai.media.storage.media import MediaStorage

if TYPE_CHECKING:
    from editai.settings import Settings

__all__ = [
    "MEDIA_URL_PREFIX",
    "LocalStore",
    "MediaStorage",
    "ObjectMissing",
    "ObjectStore",
    "StorageConfigError",
    "StoragePathError",
    "StorageUnavailable",
    "StoredObject",
    "StreamingUpload",
    "build_storage",
]


def build_storage(settings: Settings) -> MediaStorage:
    store: ObjectStore
    if settings.storage == "s3":
        from editai.media.storage.s3 import S3Store
        from editai.media.storage.s3_settings import S3Options

        store = S3Store(S3Options.from_settings(settings), settings.temp_root.resolve())
    else:
        store = LocalStore(settings.media_dir, settings.secret_key.get_secret_value())
    return MediaStorage(store, settings.temp_root)
