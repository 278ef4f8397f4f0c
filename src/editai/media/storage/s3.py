"""Media in S3-compatible object storage (AWS S3, MinIO, SeaweedFS, Ceph, R2, GCS).

One aiobotocore client per process, created on first use. Uploads of large files use
multipart upload, aborted on any failure so no incomplete upload is left behind.
Downloads are presigned GET URLs: the store itself enforces the signature and the
expiry and answers Range requests. Presigning is local computation (no request), done
with a plain botocore client so it stays synchronous.
"""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote

import botocore.session  # type: ignore[import-untyped]
from aiobotocore.config import AioConfig  # type: ignore[import-untyped]
from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from editai.media.storage.base import (
    ObjectMissing,
    ObjectStore,
    StorageConfigError,
    StorageUnavailable,
    StoredObject,
)
from editai.media.storage.keys import checked_key
from editai.media.storage.s3_abort import abort_after_parts, abort_fully
from editai.media.storage.s3_settings import S3Options
from editai.media.storage.s3_upload import S3StreamingUpload

READ_CHUNK_BYTES = 1024 * 1024
DELETE_BATCH = 1000  # the most one DeleteObjects request takes
PARTS_IN_FLIGHT = 4  # parts of one multipart upload sent at once


def _read(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as source:
        source.seek(offset)
        return source.read(size)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


class S3Store(ObjectStore):
    def __init__(self, options: S3Options, temp_root: Path) -> None:
        self.options = options
        self.bucket = options.bucket
        self.prefix = options.key_prefix
        self.temp_root = temp_root
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()
        # Download URLs carry the address clients use (signed for that host).
        public = {"endpoint_url": options.public_endpoint_url or options.endpoint_url}
        self._presigner = botocore.session.Session().create_client(
            "s3", config=Config(**self._config_kwargs()), **(self._client_kwargs() | public)
        )

    # --- client ------------------------------------------------------------------------------
    def _client_kwargs(self) -> dict[str, Any]:
        o = self.options
        kwargs: dict[str, Any] = {"region_name": o.region, "endpoint_url": o.endpoint_url}
        if o.access_key_id and o.secret_access_key:
            kwargs["aws_access_key_id"] = o.access_key_id
            kwargs["aws_secret_access_key"] = o.secret_access_key
        # else: botocore's own chain (environment, instance role, web identity)
        return kwargs

    def _config_kwargs(self) -> dict[str, Any]:
        o = self.options
        return {
            "s3": {"addressing_style": o.addressing_style},
            "signature_version": "s3v4",
            "retries": {"max_attempts": o.max_attempts, "mode": "standard"},
            "connect_timeout": o.connect_timeout_seconds,
            "read_timeout": o.read_timeout_seconds,
            # Only when the operation needs it: not every S3-compatible store checks CRCs.
            "request_checksum_calculation": "when_required",
            "response_checksum_validation": "when_required",
        }

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    stack = AsyncExitStack()
                    self._client = await stack.enter_async_context(
                        get_session().create_client(
                            "s3", config=AioConfig(**self._config_kwargs()), **self._client_kwargs()
                        )
                    )
                    self._stack = stack
        return self._client

    async def start(self) -> None:
        where = f"bucket {self.bucket!r} at {self.options.endpoint_url or 'AWS S3'}"
        try:
            await (await self._s3()).head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404:
                raise StorageConfigError(f"S3 storage: {where} does not exist") from None
            raise StorageConfigError(
                f"S3 storage: access to {where} was refused (HTTP {status}, "
                f"{_error_code(exc)}): check EDITAI_S3_ACCESS_KEY_ID, "
                "EDITAI_S3_SECRET_ACCESS_KEY and the key's permissions"
            ) from None
        except BotoCoreError as exc:
            raise StorageConfigError(f"S3 storage: {where} could not be reached: {exc}") from None

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    def _key(self, key: str) -> str:
        return self.prefix + checked_key(key)

    def _unavailable(self, exc: Exception, doing: str) -> StorageUnavailable:
        if isinstance(exc, ClientError):
            detail = f"it answered {_error_code(exc)}"
        else:
            detail = f"it could not be reached ({type(exc).__name__})"
        return StorageUnavailable(f"The media store failed while {doing}: {detail}")

    # --- ObjectStore -----------------------------------------------------------------------
    def streaming_upload(self) -> S3StreamingUpload:
        return S3StreamingUpload(
            self._s3,
            self.bucket,
            self._key,
            self.options.multipart_chunk_bytes,
            self._unavailable,
        )

    def staging_file(self, key: str, name: str) -> Path:
        return self.temp_root / "uploads" / name

    async def put_file(self, key: str, source: Path, *, multipart: bool = False) -> int:
        size = (await asyncio.to_thread(source.stat)).st_size
        try:
            if multipart or size > self.options.multipart_chunk_bytes:
                await self._put_multipart(self._key(key), source, size)
            else:
                body = await asyncio.to_thread(source.read_bytes)
                await (await self._s3()).put_object(
                    Bucket=self.bucket, Key=self._key(key), Body=body
                )
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable(exc, "storing a file") from exc
        await asyncio.to_thread(source.unlink, missing_ok=True)
        return size

    async def _put_multipart(self, key: str, source: Path, size: int) -> None:
        s3 = await self._s3()
        chunk = self.options.multipart_chunk_bytes
        upload = await s3.create_multipart_upload(Bucket=self.bucket, Key=key)
        upload_id = upload["UploadId"]
        in_flight = asyncio.Semaphore(PARTS_IN_FLIGHT)
        sent: list[asyncio.Future[Any]] = []  # part requests on their way to the store

        async def put_part(number: int, offset: int) -> dict[str, Any]:
            async with in_flight:  # at most PARTS_IN_FLIGHT chunks in memory
                data = await asyncio.to_thread(_read, source, offset, chunk)
                request = asyncio.ensure_future(
                    s3.upload_part(
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=data,
                    )
                )
                sent.append(request)
                # Shielded: a cancelled part request may still land in the store after
                # the abort, so the abort waits for it instead (s3_abort.py).
                answer = await asyncio.shield(request)
                return {"PartNumber": number, "ETag": answer["ETag"]}

        try:
            offsets = enumerate(range(0, max(size, 1), chunk), start=1)
            tasks = [asyncio.ensure_future(put_part(n, offset)) for n, offset in offsets]
            try:
                parts = await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:  # one failed (or we were cancelled): stop the others
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            await s3.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            # Cancelled or failed: no incomplete upload stays behind (it would be billed and
            # invisible). Shielded, so a cancellation does not cut the abort short; a store
            # that is down cannot take it, and the sweeper aborts what remains.
            with contextlib.suppress(BotoCoreError, ClientError):
                await asyncio.shield(abort_after_parts(s3, self.bucket, key, upload_id, sent))
            raise

    async def fetch(self, key: str, target: Path) -> None:
        try:
            answer = await (await self._s3()).get_object(Bucket=self.bucket, Key=self._key(key))
            with target.open("wb") as out:
                async with answer["Body"] as stream:
                    while data := await stream.read(READ_CHUNK_BYTES):
                        await asyncio.to_thread(out.write, data)
        except ClientError as exc:
            await asyncio.to_thread(target.unlink, missing_ok=True)
            if _error_code(exc) in {"NoSuchKey", "404"}:
                raise ObjectMissing(key) from exc
            raise self._unavailable(exc, "reading a file") from exc
        except BotoCoreError as exc:
            await asyncio.to_thread(target.unlink, missing_ok=True)
            raise self._unavailable(exc, "reading a file") from exc
        except BaseException:
            await asyncio.to_thread(target.unlink, missing_ok=True)
            raise

    async def readable_path(self, key: str, work_dir: Path) -> Path:
        target = work_dir / f"input-{checked_key(key).rsplit('/', 1)[-1]}"
        if not await asyncio.to_thread(target.exists):
            await asyncio.to_thread(work_dir.mkdir, parents=True, exist_ok=True)
            await self.fetch(key, target)
        return target

    async def delete(self, key: str) -> None:
        try:
            await (await self._s3()).delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable(exc, "deleting a file") from exc

    async def delete_prefix(self, prefix: str) -> None:
        full = self.prefix + checked_key(prefix.rstrip("/")) + "/"
        try:
            s3 = await self._s3()
            keys = [o.key for o in await self._list(full)]
            for start in range(0, len(keys), DELETE_BATCH):
                batch = [{"Key": k} for k in keys[start : start + DELETE_BATCH]]
                await s3.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            await self.abort_uploads(full)
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable(exc, "deleting files") from exc

    async def abort_uploads(self, full_prefix: str, older_than: float | None = None) -> int:
        """Abort incomplete multipart uploads under ``full_prefix`` (bucket key prefix)."""
        s3 = await self._s3()
        uploads = []
        paginator = s3.get_paginator("list_multipart_uploads")  # 1000 a page
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
            uploads += page.get("Uploads", [])
        aborted = 0
        for upload in uploads:
            started = upload.get("Initiated")
            if older_than is not None and started is not None and started.timestamp() > older_than:
                continue
            await abort_fully(s3, self.bucket, upload["Key"], upload["UploadId"])
            aborted += 1
        return aborted

    async def _list(self, full_prefix: str) -> list[StoredObject]:
        s3 = await self._s3()
        found: list[StoredObject] = []
        paginator = s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=full_prefix):
            for item in page.get("Contents", []):
                found.append(StoredObject(item["Key"], item["Size"], item["LastModified"]))
        return found

    async def list(self, prefix: str = "") -> list[StoredObject]:
        full = self.prefix + (checked_key(prefix.rstrip("/")) + "/" if prefix else "")
        try:
            listed = await self._list(full)
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable(exc, "listing files") from exc
        cut = len(self.prefix)
        return [StoredObject(o.key[cut:], o.size, o.modified) for o in listed]

    def download_url(
        self, key: str, ttl_seconds: int, *, now: float | None = None, filename: str | None = None
    ) -> str:
        name = filename or key.rsplit("/", 1)[-1]
        # RFC 6266: a plain ASCII fallback and the exact name in UTF-8.
        fallback = "".join(
            c if c.isascii() and c not in '"\\' and c.isprintable() else "_" for c in name
        )
        disposition = f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
        url: str = self._presigner.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(key),
                "ResponseContentDisposition": disposition,
            },
            ExpiresIn=ttl_seconds,
        )
        return url
