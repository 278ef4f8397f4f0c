"""Aborting a multipart upload so that nothing of it stays in the store.

S3's AbortMultipartUpload documentation: a part upload still in progress when the abort
arrives may or may not succeed, so an upload may have to be aborted more than once to
free all its storage. Cancelling our side of a part request does not stop the store:
SeaweedFS checks that the upload exists, then writes the part, recreating the upload's
folder after an abort (or making the abort's recursive delete fail), and its abort of an
upload that is still being written to answers 500. So:

1. wait for the part requests already sent to end (bounded), so none lands after the
   abort;
2. abort, then ask for the upload's parts until the store says it no longer knows the
   upload, aborting again meanwhile (errors other than "no such upload" are retried too:
   a part written at the same moment makes one abort fail).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError  # type: ignore[import-untyped]

ABORT_ATTEMPTS = 6
ABORT_RECHECK_SECONDS = 0.25
# A part request already sent is given this long to end before the abort (a store that
# hangs longer is aborted anyway; the sweeper aborts whatever a late part brings back).
PART_SETTLE_SECONDS = 30.0


def _gone(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in {"NoSuchUpload", "404"}


async def let_parts_end(requests: Iterable[asyncio.Future[Any]]) -> None:
    """Wait until the part requests already sent have ended, their outcome ignored; those
    still running after ``PART_SETTLE_SECONDS`` are cancelled."""
    pending = [request for request in requests if not request.done()]
    if pending:
        _, late = await asyncio.wait(pending, timeout=PART_SETTLE_SECONDS)
        for request in late:
            request.cancel()
        await asyncio.wait(pending)
    for request in requests:
        if not request.cancelled():
            request.exception()  # retrieved: a failed part is why we abort, not news


async def abort_fully(s3: Any, bucket: str, key: str, upload_id: str) -> None:
    """Abort ``upload_id`` until the store no longer lists it (bounded: a store that keeps
    it is left to the sweeper, which aborts stale uploads). Raises the store's last error
    when it never confirms."""
    last_error: ClientError | None = None
    for attempt in range(ABORT_ATTEMPTS):
        if attempt:
            await asyncio.sleep(ABORT_RECHECK_SECONDS)
        try:
            await s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if not _gone(exc):
                last_error = exc
                continue
        try:
            await s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id, MaxParts=1)
        except ClientError as exc:
            if _gone(exc):
                return
            last_error = exc
    if last_error is not None:
        raise last_error


async def abort_after_parts(
    s3: Any, bucket: str, key: str, upload_id: str, requests: Iterable[asyncio.Future[Any]]
) -> None:
    """Let the sent part requests end, then abort the upload fully."""
    with contextlib.suppress(Exception):
        await let_parts_end(list(requests))
    await abort_fully(s3, bucket, key, upload_id)
