"""Aborting a multipart upload so that nothing of it stays in the store.

S3's AbortMultipartUpload documentation: a part upload still in progress when the abort
arrives may or may not succeed, so an upload may have to be aborted more than once to
free all its storage. A cancelled upload has exactly such parts (the HTTP request of a
part was sent; cancelling our side does not stop the server), and SeaweedFS was seen
listing the upload again after the first abort. So: abort, then ask for its parts until
the store says it no longer knows the upload, aborting again meanwhile.
"""

from __future__ import annotations

import asyncio
from typing import Any

from botocore.exceptions import ClientError  # type: ignore[import-untyped]

ABORT_ATTEMPTS = 6
ABORT_RECHECK_SECONDS = 0.25


def _gone(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in {"NoSuchUpload", "404"}


async def abort_fully(s3: Any, bucket: str, key: str, upload_id: str) -> None:
    """Abort ``upload_id`` until the store no longer lists it (bounded: a store that keeps
    it is left to the sweeper, which aborts stale uploads). Raises what the store raises
    other than "no such upload"."""
    for _ in range(ABORT_ATTEMPTS):
        try:
            await s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if not _gone(exc):
                raise
        try:
            await s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, MaxParts=1)
        except ClientError as exc:
            if _gone(exc):
                return
            raise
        await asyncio.sleep(ABORT_RECHECK_SECONDS)
