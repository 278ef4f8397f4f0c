"""The S3 backend against a real SeaweedFS: objects, multipart, listing, deletion,
presigned URLs (Range, Content-Disposition, tampering, expiry), start-up checks."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from editai.media.storage import ObjectMissing, StorageConfigError, StorageUnavailable
from editai.media.storage.s3 import S3Store
from editai.media.storage.s3_settings import S3Options
from tests.conftest import make_settings
from tests.s3.client import keys_in, open_uploads
from tests.s3.conftest import s3_settings
from tests.s3.late_parts import LatePartsRelay
from tests.s3.seaweed import SeaweedS3

MIB = 1024 * 1024


def store_for(seaweed: SeaweedS3, bucket: str, tmp_path: Path, **overrides: object) -> S3Store:
    settings = make_settings(
        tmp_path, "sqlite+aiosqlite://", **s3_settings(seaweed, bucket, **overrides)
    )
    return S3Store(S3Options.from_settings(settings), tmp_path / "tmp")


def key(*parts: str) -> str:
    profile, project = uuid.uuid4(), uuid.uuid4()
    return "/".join([str(profile), str(project), *parts])


async def test_put_fetch_list_delete(
    seaweed: SeaweedS3, bucket: str, s3: Any, tmp_path: Path
) -> None:
    store = store_for(seaweed, bucket, tmp_path)
    await store.start()
    try:
        first, second = key("clips", "a.mp4"), key("exports", "b.mp4")
        for name, content in ((first, b"first"), (second, b"second" * 1000)):
            source = tmp_path / "out.bin"
            source.write_bytes(content)
            assert await store.put_file(name, source) == len(content)
            assert not source.exists()  # consumed
        assert keys_in(s3, bucket) == sorted([first, second])
        target = tmp_path / "copy.bin"
        await store.fetch(second, target)
        assert target.read_bytes() == b"second" * 1000
        listed = {o.key: o for o in await store.list()}
        assert set(listed) == {first, second}
        assert listed[first].size == 5
        assert abs(listed[first].modified.timestamp() - time.time()) < 600
        assert [o.key for o in await store.list(first.rsplit("/", 2)[0] + "/")] == [first]

        await store.delete(first)
        with pytest.raises(ObjectMissing):
            await store.fetch(first, tmp_path / "gone.bin")
        assert not (tmp_path / "gone.bin").exists()
        await store.delete_prefix(second.split("/", 1)[0] + "/")
        assert keys_in(s3, bucket) == []
    finally:
        await store.close()


async def test_key_prefix_is_applied_and_hidden(
    seaweed: SeaweedS3, bucket: str, s3: Any, tmp_path: Path
) -> None:
    store = store_for(seaweed, bucket, tmp_path, s3_key_prefix="/apps/editai/")
    try:
        name = key("clips", "c.mp4")
        source = tmp_path / "c.mp4"
        source.write_bytes(b"c")
        await store.put_file(name, source)
        assert keys_in(s3, bucket) == [f"apps/editai/{name}"]
        assert [o.key for o in await store.list()] == [name]
    finally:
        await store.close()


async def test_multipart_upload_in_parts(
    seaweed: SeaweedS3, bucket: str, s3: Any, tmp_path: Path
) -> None:
    store = store_for(seaweed, bucket, tmp_path, s3_multipart_chunk_bytes=5 * MIB)
    try:
        name = key("source-x.mp4")
        content = os.urandom(11 * MIB)  # three parts: 5 + 5 + 1 MiB
        source = tmp_path / "big.bin"
        source.write_bytes(content)
        assert await store.put_file(name, source, multipart=True) == len(content)
        head = s3.head_object(Bucket=bucket, Key=name)
        assert head["ContentLength"] == len(content)
        assert head["ETag"].strip('"').endswith("-3")  # a multipart object of three parts
        target = tmp_path / "back.bin"
        await store.fetch(name, target)
        assert target.read_bytes() == content
        assert open_uploads(s3, bucket) == []
    finally:
        await store.close()


async def test_an_interrupted_multipart_upload_leaves_nothing(
    seaweed: SeaweedS3, bucket: str, s3: Any, tmp_path: Path
) -> None:
    """Cancelled after its first part (the request went away): aborted, no object."""
    store = store_for(seaweed, bucket, tmp_path, s3_multipart_chunk_bytes=5 * MIB)
    try:
        name = key("source-y.mp4")
        source = tmp_path / "big.bin"
        source.write_bytes(os.urandom(40 * MIB))
        upload = asyncio.create_task(store.put_file(name, source, multipart=True))
        deadline = time.monotonic() + 30
        while not open_uploads(s3, bucket):  # the upload exists on the server
            assert not upload.done(), "finished before it could be interrupted"
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        upload.cancel()
        with pytest.raises(asyncio.CancelledError):
            await upload
        assert open_uploads(s3, bucket) == []
        assert keys_in(s3, bucket) == []
    finally:
        await store.close()


async def test_presigned_url_range_disposition_tampering_expiry(
    seaweed: SeaweedS3, bucket: str, tmp_path: Path
) -> None:
    store = store_for(seaweed, bucket, tmp_path)
    try:
        name = key("clips", "d.mp4")
        content = bytes(range(256)) * 40
        source = tmp_path / "d.mp4"
        source.write_bytes(content)
        await store.put_file(name, source)
        url = store.download_url(name, 60, filename="My clip é.mp4")
        assert name in urlsplit(url).path  # the URL names this object and no other
        async with httpx.AsyncClient() as http:
            whole = await http.get(url)
            assert (whole.status_code, whole.content) == (200, content)
            assert 'filename="My clip _.mp4"' in whole.headers["content-disposition"]
            assert "filename*=UTF-8''My%20clip%20%C3%A9.mp4" in whole.headers["content-disposition"]
            ranged = await http.get(url, headers={"Range": "bytes=100-199"})
            assert (ranged.status_code, ranged.content) == (206, content[100:200])
            assert ranged.headers["content-range"] == f"bytes 100-199/{len(content)}"

            parts = urlsplit(url)
            query = parse_qs(parts.query)
            signature = query["X-Amz-Signature"][0]
            flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
            tampered = [
                {**query, "X-Amz-Signature": [flipped]},
                {**query, "X-Amz-Expires": ["604800"]},  # a longer life than signed for
            ]
            for changed in tampered:
                bad = urlunsplit(parts._replace(query=urlencode(changed, doseq=True)))
                assert (await http.get(bad)).status_code == 403
            other = key("clips", "e.mp4")  # another object under the same signature
            moved = url.replace(name, other)
            assert (await http.get(moved)).status_code == 403

            short = store.download_url(name, 1)
            assert (await http.get(short)).status_code == 200
            deadline = time.monotonic() + 30
            while (status := (await http.get(short)).status_code) == 200:
                assert time.monotonic() < deadline, "the store never expired the URL"
                await asyncio.sleep(0.25)
            assert status == 403
    finally:
        await store.close()


async def test_download_urls_use_the_public_endpoint(
    seaweed: SeaweedS3, bucket: str, tmp_path: Path
) -> None:
    """Servers reach the store as 127.0.0.1, clients as localhost: the URL says localhost,
    is signed for it, and works."""
    public = seaweed.endpoint.replace("127.0.0.1", "localhost")
    store = store_for(seaweed, bucket, tmp_path, s3_public_endpoint_url=public)
    try:
        name = key("clips", "p.mp4")
        source = tmp_path / "p.mp4"
        source.write_bytes(b"public")
        await store.put_file(name, source)
        url = store.download_url(name, 60)
        assert url.startswith(f"{public}/{bucket}/{name}?")
        async with httpx.AsyncClient() as http:
            answer = await http.get(url)
        assert (answer.status_code, answer.content) == (200, b"public")
    finally:
        await store.close()


async def test_wrong_credentials_are_refused_at_start(
    seaweed: SeaweedS3, bucket: str, tmp_path: Path
) -> None:
    store = store_for(seaweed, bucket, tmp_path, s3_secret_access_key="not-the-secret")
    with pytest.raises(StorageConfigError, match=r"refused.*EDITAI_S3_SECRET_ACCESS_KEY"):
        await store.start()
    await store.close()
    missing = store_for(seaweed, "no-such-bucket-editai", tmp_path)
    with pytest.raises(StorageConfigError, match="does not exist"):
        await missing.start()
    await missing.close()


async def test_a_store_that_is_down_is_reported_readably(
    tmp_path: Path, own_store: SeaweedS3
) -> None:
    from tests.s3.conftest import new_bucket

    bucket = new_bucket(own_store)
    store = store_for(own_store, bucket, tmp_path)
    try:
        await store.start()
        own_store.stop()
        source = tmp_path / "x.mp4"
        source.write_bytes(b"x")
        with pytest.raises(StorageUnavailable, match="media store failed while storing a file"):
            await store.put_file(key("clips", "x.mp4"), source)
        assert source.exists()  # not consumed: nothing was stored
    finally:
        await store.close()


def relayed_store(
    seaweed: SeaweedS3, bucket: str, tmp_path: Path, relay: LatePartsRelay
) -> S3Store:
    """A store reached through ``relay``, in parts of 5 MiB."""
    overrides = {"s3_endpoint_url": relay.endpoint, "s3_multipart_chunk_bytes": 5 * MIB}
    return store_for(seaweed, bucket, tmp_path, **overrides)


async def test_a_part_the_store_is_still_writing_when_cancelled_does_not_outlive_the_abort(
    seaweed: SeaweedS3, bucket: str, s3: Any, tmp_path: Path
) -> None:
    """The race behind a leak seen in CI: the part request was sent, the store is still
    writing it when the upload is cancelled. An abort sent at once loses to that write
    (the upload comes back, or the abort fails); the abort waits for the part instead."""
    relay = LatePartsRelay(int(seaweed.endpoint.rsplit(":", 1)[1]), hold_seconds=1.0)
    async with relay.running():
        store = relayed_store(seaweed, bucket, tmp_path, relay)
        name = key("source-z.mp4")
        try:
            source = tmp_path / "big.bin"
            source.write_bytes(os.urandom(20 * MIB))
            upload = asyncio.create_task(store.put_file(name, source, multipart=True))
            await asyncio.wait_for(relay.part_received.wait(), timeout=30)
            upload.cancel()
            with pytest.raises(asyncio.CancelledError):
                await upload
        finally:
            await store.close()
        await relay.settled()  # every held part has reached the store and been answered
    assert relay.parts_landed >= 1
    # Every part the store was writing ended before the first abort reached it.
    assert "abort" in relay.events
    assert "part landed" not in relay.events[relay.events.index("abort") :]
    assert len(relay.upload_ids) == 1
    (upload_id,) = relay.upload_ids
    with pytest.raises(s3.exceptions.NoSuchUpload):
        s3.list_parts(Bucket=bucket, Key=name, UploadId=upload_id)
    assert open_uploads(s3, bucket) == []
    assert keys_in(s3, bucket) == []


async def test_a_discarded_streamed_upload_waits_for_its_parts_before_the_abort(
    seaweed: SeaweedS3, bucket: str, s3: Any, tmp_path: Path
) -> None:
    """The same race on the streamed upload path (a request that ends mid-body)."""
    relay = LatePartsRelay(int(seaweed.endpoint.rsplit(":", 1)[1]), hold_seconds=1.0)
    async with relay.running():
        store = relayed_store(seaweed, bucket, tmp_path, relay)
        try:
            upload = store.streaming_upload()
            await upload.write(os.urandom(5 * MIB))  # one full part: sent
            await asyncio.wait_for(relay.part_received.wait(), timeout=30)
            await upload.discard()
        finally:
            await store.close()
    assert relay.events == ["part landed", "abort"]
    (upload_id,) = relay.upload_ids
    with pytest.raises(s3.exceptions.NoSuchUpload):
        s3.list_parts(Bucket=bucket, Key=upload.staging_key, UploadId=upload_id)
    assert open_uploads(s3, bucket) == []
    assert keys_in(s3, bucket) == []
