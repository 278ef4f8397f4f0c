"""An upload streamed into S3 while its request body is still arriving.

The bytes go, part by part, into a multipart upload on a staging key the server makes
(``<key prefix>uploads/<uuid>``): the final key needs the probed container's extension,
known only once the whole file is here. Once the upload is accepted, the multipart upload
is completed and moved to its final key with a server-side copy (the bytes never pass
through this server twice), and the staging object is deleted.

Memory stays bounded: one part is filled while at most ``PARTS_IN_FLIGHT`` are being
sent; a part that is full waits for the oldest in flight (backpressure on the request
body, never an unbounded queue).
Anything that ends it early (refusal, error, client gone, cancellation) aborts the
multipart upload, so no incomplete upload and no object is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from editai.media.storage.base import StorageUnavailable, StreamingUpload
from editai.media.storage.s3_abort import abort_after_parts, abort_fully

STAGING_FOLDER = "uploads/"
COPY_OBJECT_MAX_BYTES = 5 * 1024**3  # the most one CopyObject takes; beyond, part copies
COPY_PART_BYTES = 1024**3
# Two parts sent at once keep the store busy while the next fills (a store round trip
# per part otherwise stalls the body); memory is (PARTS_IN_FLIGHT + 1) parts at most.
PARTS_IN_FLIGHT = 2

Client = Callable[[], Awaitable[Any]]
Failure = Callable[[Exception, str], StorageUnavailable]


class S3StreamingUpload(StreamingUpload):
    def __init__(
        self,
        client: Client,
        bucket: str,
        full_key: Callable[[str], str],
        part_bytes: int,
        failure: Failure,
    ) -> None:
        self._client = client
        self.bucket = bucket
        self._full_key = full_key  # a key -> the bucket's key (with the key prefix)
        self.staging_key = full_key(f"{STAGING_FOLDER}{uuid.uuid4().hex}")
        self.part_bytes = part_bytes
        self._failure = failure
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._in_flight: deque[asyncio.Task[dict[str, Any]]] = deque()  # oldest first
        self._completed = False  # the staging object exists
        self._done = False  # stored or discarded: nothing more to do
        self.size = 0

    @property
    def parts_started(self) -> int:
        """Parts handed to the store so far (confirmed or in flight)."""
        return len(self._parts) + len(self._in_flight)

    @property
    def parts_in_flight(self) -> int:
        return len(self._in_flight)

    async def write(self, data: bytes) -> None:
        """Take the next bytes of the file; sends a part each time one is full."""
        if self._done:
            raise RuntimeError("the upload is closed")
        while self._in_flight and self._in_flight[0].done():
            await self._wait_oldest()  # a part that failed stops the body now
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= self.part_bytes:
            with memoryview(self._buffer) as view:
                part = bytes(view[: self.part_bytes])  # one copy, not two
            del self._buffer[: self.part_bytes]
            await self._send(part)

    async def _send(self, data: bytes) -> None:
        while len(self._in_flight) >= PARTS_IN_FLIGHT:
            await self._wait_oldest()  # backpressure: the body waits for the store
        try:
            s3 = await self._client()
            if self._upload_id is None:
                started = await s3.create_multipart_upload(Bucket=self.bucket, Key=self.staging_key)
                self._upload_id = started["UploadId"]
        except (BotoCoreError, ClientError) as exc:
            raise self._failure(exc, "storing an upload") from exc
        number = len(self._parts) + len(self._in_flight) + 1
        self._in_flight.append(asyncio.create_task(self._put_part(s3, number, data)))

    async def _put_part(self, s3: Any, number: int, data: bytes) -> dict[str, Any]:
        answer = await s3.upload_part(
            Bucket=self.bucket,
            Key=self.staging_key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=data,
        )
        return {"PartNumber": number, "ETag": answer["ETag"]}

    async def _wait_oldest(self) -> None:
        task = self._in_flight[0]
        try:
            # Shielded: the request being cancelled must not cut off a part the store may
            # still write; discard() waits for it before aborting.
            part = await asyncio.shield(task)
        except (BotoCoreError, ClientError) as exc:
            raise self._failure(exc, "storing an upload") from exc
        finally:
            if task.done():
                self._in_flight.popleft()  # ended, one way or another
        self._parts.append(part)  # in part number order, as completing needs

    async def store_as(self, key: str) -> int:
        """Send the last part, complete, copy to ``key`` and delete the staging object;
        returns the size."""
        if self._done:
            raise RuntimeError("the upload is closed")
        full_key = self._full_key(key)
        try:
            if self._buffer or self._upload_id is None:  # the last part may be short
                await self._send(bytes(self._buffer))
                self._buffer = bytearray()
            while self._in_flight:
                await self._wait_oldest()
            s3 = await self._client()
            await s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.staging_key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
            self._completed = True
            await self._copy(s3, full_key)
            await s3.delete_object(Bucket=self.bucket, Key=self.staging_key)
        except (BotoCoreError, ClientError) as exc:
            raise self._failure(exc, "storing an upload") from exc
        self._done = True
        return self.size

    async def _copy(self, s3: Any, full_key: str) -> None:
        source = {"Bucket": self.bucket, "Key": self.staging_key}
        if self.size <= COPY_OBJECT_MAX_BYTES:
            await s3.copy_object(Bucket=self.bucket, Key=full_key, CopySource=source)
            return
        # Past CopyObject's limit: a multipart upload of ranges copied by the store.
        copy = await s3.create_multipart_upload(Bucket=self.bucket, Key=full_key)
        upload_id = copy["UploadId"]
        try:
            parts = []
            for number, start in enumerate(range(0, self.size, COPY_PART_BYTES), start=1):
                end = min(start + COPY_PART_BYTES, self.size) - 1
                answer = await s3.upload_part_copy(
                    Bucket=self.bucket,
                    Key=full_key,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource=source,
                    CopySourceRange=f"bytes={start}-{end}",
                )
                parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
            await s3.complete_multipart_upload(
                Bucket=self.bucket,
                Key=full_key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            with contextlib.suppress(BotoCoreError, ClientError):
                await asyncio.shield(abort_fully(s3, self.bucket, full_key, upload_id))
            raise

    async def discard(self) -> None:
        """Abort (or delete) whatever this upload left in the store; idempotent. Shielded:
        a cancelled request still cleans up. A store that is down cannot take it: the
        sweeper removes what remains under the staging prefix."""
        if self._done:
            return
        self._done = True
        self._buffer = bytearray()
        with contextlib.suppress(BotoCoreError, ClientError, StorageUnavailable):
            await asyncio.shield(self._remove())

    async def _remove(self) -> None:
        requests, self._in_flight = list(self._in_flight), deque()
        s3 = await self._client()
        if self._completed:
            await s3.delete_object(Bucket=self.bucket, Key=self.staging_key)
        elif self._upload_id is not None:
            # The parts already sent end first: cancelled, one could still land after the
            # abort and bring the upload back (s3_abort.py).
            await abort_after_parts(s3, self.bucket, self.staging_key, self._upload_id, requests)
