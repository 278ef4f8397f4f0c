"""Uploads stream into S3 while the request body is still arriving (issue 11).

The body is sent in chunks by an async generator; between chunks the test looks into the
store (SeaweedFS) for the multipart upload's parts. An accepted upload ends as one
object under its final key; a body past the cap, a client that vanishes mid-body and a
refused upload (not a video, a foreign project) leave no object and no incomplete
multipart upload, and no spool file.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from editai.media.binaries import Binaries
from editai.media.ffmpeg import run_ffmpeg
from editai.media.storage import s3_upload
from editai.media.storage.s3 import S3Store
from editai.media.storage.s3_settings import S3Options
from editai.media.storage.s3_upload import STAGING_FOLDER
from editai.media.sweeper import sweep_orphans
from tests import api
from tests.conftest import make_settings
from tests.fakes.server import serve_app
from tests.pipeline.conftest import UPLOAD
from tests.s3.client import keys_in, open_uploads, sync_client
from tests.s3.conftest import new_bucket, open_s3_env, s3_settings
from tests.s3.seaweed import SeaweedS3

PART = 5 * 1024 * 1024  # the smallest part S3 takes
CHUNK = 256 * 1024
BOUNDARY = "editai-streamed-upload-test"
WAIT_SECONDS = 60.0  # generous: the machine may be busy


@pytest.fixture(scope="module")
async def big_video(binaries: Binaries, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A decodable video of ~11.5 MB (uncompressed frames): more than two parts."""
    path = tmp_path_factory.mktemp("streamed") / "big.avi"
    args = [
        "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=4",
        "-c:v", "rawvideo", "-pix_fmt", "yuv420p", str(path),
    ]  # fmt: skip
    await run_ffmpeg(binaries, args)
    data = path.read_bytes()
    assert len(data) > 2 * PART
    return data


def multipart(project_id: str, filename: str) -> tuple[bytes, bytes]:
    """The GraphQL multipart request around one file: the bytes before it and after it."""
    operations = {"query": UPLOAD, "variables": {"projectId": project_id, "file": None}}
    fields = {"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})}
    head = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="0"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head, f"\r\n--{BOUNDARY}--\r\n".encode()


def headers(user: api.TestUser, length: int) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {user.token}",
        "Apollo-Require-Preflight": "true",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        "Content-Length": str(length),
    }


def staged_parts(s3: Any, bucket: str) -> int:
    """Parts received so far by incomplete multipart uploads on staging keys."""
    parts = 0
    for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        assert upload["Key"].startswith(STAGING_FOLDER), upload["Key"]
        answer = s3.list_parts(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        parts += len(answer.get("Parts", []))
    return parts


async def wait_for(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll ``condition`` (a state of the store) until it holds; bounded."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def parts_in_store(s3: Any, bucket: str) -> None:
    async def seen() -> bool:
        return await asyncio.to_thread(staged_parts, s3, bucket) >= 1

    await wait_for(seen, "a part of the upload in the store")


async def nothing_left(s3: Any, bucket: str, temp: Callable[[], list[Path]]) -> None:
    async def empty() -> bool:
        keys, uploads = await asyncio.gather(
            asyncio.to_thread(keys_in, s3, bucket), asyncio.to_thread(open_uploads, s3, bucket)
        )
        return keys == [] and uploads == [] and temp() == []

    await wait_for(empty, "the store and the temp dir to be empty")


class SlowBody:
    """The body in chunks; once ``pause_after`` bytes of the file are out, it waits until
    a part is in the store before it sends more (the body is then still arriving)."""

    def __init__(
        self,
        head: bytes,
        video: bytes,
        tail: bytes,
        s3: Any,
        bucket: str,
        then: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.head, self.video, self.tail = head, video, tail
        self.s3, self.bucket = s3, bucket
        self.then = then  # run once a part is in the store
        self.sent = 0  # bytes of the file handed to the server
        self.parts_seen_at: int | None = None  # how much of the file was out then

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        for start in range(0, len(self.video), CHUNK):
            if self.parts_seen_at is None and self.sent > PART + CHUNK:
                await parts_in_store(self.s3, self.bucket)
                self.parts_seen_at = self.sent
                if self.then is not None:
                    await self.then()
            chunk = self.video[start : start + CHUNK]
            self.sent += len(chunk)
            yield chunk
        yield self.tail


async def test_parts_reach_the_store_while_the_body_arrives(
    engine: AsyncEngine,
    tmp_path: Path,
    seaweed: SeaweedS3,
    bucket: str,
    s3: Any,
    big_video: bytes,
) -> None:
    async with open_s3_env(engine, tmp_path, seaweed, bucket, s3_multipart_chunk_bytes=PART) as env:
        user = await env.api.new_user()
        project = await user.create_project("Streamed")
        head, tail = multipart(project, "big.avi")
        body = SlowBody(head, big_video, tail, s3, bucket)
        length = len(head) + len(big_video) + len(tail)
        response = await env.client.post(
            "/graphql", content=body.__aiter__(), headers=headers(user, length)
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["uploadSourceVideo"]["sourceVideo"]["width"] == 320
        # A part was in the store while most of the file was still to come.
        assert body.parts_seen_at is not None
        assert body.parts_seen_at < len(big_video) - PART
        # One object, under its final key (the staging object is gone), no open upload.
        [stored] = keys_in(s3, bucket)
        assert stored.startswith(f"{user.default_profile_id}/{project}/source-")
        assert stored.endswith(".avi")
        assert s3.head_object(Bucket=bucket, Key=stored)["ContentLength"] == len(big_video)
        assert s3.get_object(Bucket=bucket, Key=stored)["Body"].read() == big_video
        assert open_uploads(s3, bucket) == []
        assert env.temp_files() == []


async def test_a_body_past_the_cap_is_aborted_mid_stream(
    engine: AsyncEngine,
    tmp_path: Path,
    seaweed: SeaweedS3,
    bucket: str,
    s3: Any,
    big_video: bytes,
) -> None:
    cap = PART + PART // 2  # passed after one part went into the store
    settings = {"s3_multipart_chunk_bytes": PART, "max_upload_bytes": cap}
    async with open_s3_env(engine, tmp_path, seaweed, bucket, **settings) as env:
        user = await env.api.new_user()
        project = await user.create_project("Too large")
        head, tail = multipart(project, "big.avi")
        body = SlowBody(head, big_video, tail, s3, bucket)
        # No Content-Length to refuse up front (chunked): the received bytes are counted.
        sent = headers(user, 0)
        del sent["Content-Length"]
        response = await env.client.post("/graphql", content=body.__aiter__(), headers=sent)
        assert response.status_code == 413, response.text
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert body.parts_seen_at is not None  # it had started streaming into the store
        assert body.sent < len(big_video)  # refused mid-body, not after it
        assert open_uploads(s3, bucket) == []
        assert keys_in(s3, bucket) == []
        assert env.temp_files() == []


async def test_a_client_gone_mid_body_leaves_nothing(
    engine: AsyncEngine,
    tmp_path: Path,
    seaweed: SeaweedS3,
    bucket: str,
    s3: Any,
    big_video: bytes,
) -> None:
    async with (
        open_s3_env(engine, tmp_path, seaweed, bucket, s3_multipart_chunk_bytes=PART) as env,
        serve_app(env.app) as server,
    ):
        user = await env.api.new_user()
        project = await user.create_project("Gone")
        head, tail = multipart(project, "big.avi")
        length = len(head) + len(big_video) + len(tail)
        request = "".join(
            f"{name}: {value}\r\n" for name, value in headers(user, length).items()
        ).encode()
        _reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            writer.write(b"POST /graphql HTTP/1.1\r\nHost: test\r\n" + request + b"\r\n" + head)
            writer.write(big_video[: PART + 2 * CHUNK])
            await writer.drain()
            await parts_in_store(s3, bucket)  # streaming into the store, body unfinished
        finally:
            writer.transport.abort()  # RST: gone mid-body
        await nothing_left(s3, bucket, env.temp_files)


async def test_refused_streamed_uploads_leave_nothing(
    engine: AsyncEngine,
    tmp_path: Path,
    seaweed: SeaweedS3,
    bucket: str,
    s3: Any,
    big_video: bytes,
) -> None:
    async with open_s3_env(engine, tmp_path, seaweed, bucket, s3_multipart_chunk_bytes=PART) as env:
        owner, other = await env.api.new_user(), await env.api.new_user()
        foreign = await owner.create_project("Not yours")
        mine = await other.create_project("Mine")
        not_a_video = bytes(range(256)) * (3 * PART // 256)  # three parts of noise
        cases = [
            (mine, not_a_video, "BAD_USER_INPUT"),
            (foreign, big_video, "NOT_FOUND"),
        ]
        for project, content, code in cases:
            head, tail = multipart(project, "refused.avi")
            body = SlowBody(head, content, tail, s3, bucket)
            length = len(head) + len(content) + len(tail)
            response = await env.client.post(
                "/graphql", content=body.__aiter__(), headers=headers(other, length)
            )
            errors = response.json()["errors"]
            assert [e["extensions"]["code"] for e in errors] == [code], errors
            assert body.parts_seen_at is not None  # parts had reached the store
            assert open_uploads(s3, bucket) == []
            assert keys_in(s3, bucket) == []
            assert env.temp_files() == []


async def test_the_store_down_mid_body_stops_the_upload(
    engine: AsyncEngine, tmp_path: Path, own_store: SeaweedS3
) -> None:
    """A part that cannot be stored ends the request while the body is still arriving:
    503, INTERNAL_SERVER_ERROR, retryable. The abort cannot reach a store that is down:
    the sweeper removes the incomplete upload once the store is back."""
    bucket = new_bucket(own_store)
    client: Any = sync_client(own_store.endpoint)
    settings = {"s3_multipart_chunk_bytes": PART, "s3_connect_timeout_seconds": 1.0}
    async with open_s3_env(engine, tmp_path, own_store, bucket, **settings) as env:
        user = await env.api.new_user()
        project = await user.create_project("Down mid-body")
        content = os.urandom(8 * PART)  # a part failing surfaces by the next one at the latest
        head, tail = multipart(project, "down.avi")
        body = SlowBody(
            head, content, tail, client, bucket, then=lambda: asyncio.to_thread(own_store.stop)
        )
        length = len(head) + len(content) + len(tail)
        response = await env.client.post(
            "/graphql", content=body.__aiter__(), headers=headers(user, length)
        )
        assert response.status_code == 503, response.text
        [error] = response.json()["errors"]
        assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "retryable": True}
        assert error["message"].startswith(
            "The video could not be stored: The media store failed while storing an upload"
        ), error
        assert body.parts_seen_at is not None
        assert body.sent < len(content)  # stopped mid-body
        assert env.temp_files() == []

        await asyncio.to_thread(own_store.start)  # same ports and data
        [left] = open_uploads(client, bucket)
        assert left.startswith(STAGING_FOLDER)
        swept = await sweep_orphans(env.runtime, grace_seconds=0, now=time.time() + 60)
        assert swept.aborted_uploads == 1
        assert open_uploads(client, bucket) == []
        assert keys_in(client, bucket) == []


async def test_large_uploads_are_moved_by_ranged_part_copies(
    seaweed: SeaweedS3, bucket: str, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past CopyObject's 5 GB the move is UploadPartCopy of ranges; the limit is lowered
    here so a few MiB take that path. Under a key prefix, the staging key is too."""
    monkeypatch.setattr(s3_upload, "COPY_OBJECT_MAX_BYTES", 0)
    monkeypatch.setattr(s3_upload, "COPY_PART_BYTES", PART)
    settings = make_settings(
        tmp_path,
        "sqlite+aiosqlite://",
        **s3_settings(seaweed, bucket, s3_multipart_chunk_bytes=PART, s3_key_prefix="tenant-a"),
    )
    store = S3Store(S3Options.from_settings(settings), tmp_path / "tmp")
    await store.start()
    try:
        upload = store.streaming_upload()
        assert upload.staging_key.startswith(f"tenant-a/{STAGING_FOLDER}")
        content = os.urandom(2 * PART + 12345)
        for start in range(0, len(content), CHUNK):
            await upload.write(content[start : start + CHUNK])
        assert upload.parts_started == 2  # sent while being written; the rest with the end
        final = f"{uuid.uuid4()}/{uuid.uuid4()}/source-{uuid.uuid4().hex}.mp4"
        assert await upload.store_as(final) == len(content)
        assert keys_in(s3, bucket) == [f"tenant-a/{final}"]
        assert s3.get_object(Bucket=bucket, Key=f"tenant-a/{final}")["Body"].read() == content
        assert open_uploads(s3, bucket) == []
        await upload.discard()  # stored: nothing to undo
        assert keys_in(s3, bucket) == [f"tenant-a/{final}"]
    finally:
        await store.close()


async def test_a_slow_store_holds_the_body_back(own_store: SeaweedS3, tmp_path: Path) -> None:
    """Backpressure, not a queue: with the store frozen (SIGSTOP) the parts in flight
    hang, and the write that fills one more waits for them (the body is not read
    meanwhile); it goes on once the store does. Memory: the parts in flight plus one."""
    bucket = new_bucket(own_store)
    client: Any = sync_client(own_store.endpoint)
    overrides = {"s3_multipart_chunk_bytes": PART, "s3_read_timeout_seconds": 120.0}
    settings = make_settings(
        tmp_path, "sqlite+aiosqlite://", **s3_settings(own_store, bucket, **overrides)
    )
    store = S3Store(S3Options.from_settings(settings), tmp_path / "tmp")
    await store.start()
    assert own_store.process is not None
    group = own_store.process.pid
    part = os.urandom(PART)
    try:
        upload = store.streaming_upload()
        await upload.write(part)  # the multipart upload starts while the store runs
        os.killpg(group, signal.SIGSTOP)
        written = 1
        while True:
            pending = asyncio.create_task(upload.write(part))
            done, _ = await asyncio.wait({pending}, timeout=1.0)
            if not done:
                break  # held back
            written += 1
            assert written <= s3_upload.PARTS_IN_FLIGHT  # never more parts than that out
        assert upload.parts_in_flight == s3_upload.PARTS_IN_FLIGHT
        os.killpg(group, signal.SIGCONT)
        await asyncio.wait_for(pending, WAIT_SECONDS)
        written += 1
        final = f"{uuid.uuid4()}/{uuid.uuid4()}/source-{uuid.uuid4().hex}.mp4"
        assert await upload.store_as(final) == written * PART
        assert client.head_object(Bucket=bucket, Key=final)["ContentLength"] == written * PART
        assert keys_in(client, bucket) == [final]
        assert open_uploads(client, bucket) == []
    finally:
        os.killpg(group, signal.SIGCONT)
        await store.close()
        # A weed that was frozen takes its full 15 s grace to stop on SIGTERM; it is this
        # test's own, so it goes at once.
        os.killpg(group, signal.SIGKILL)
        await asyncio.to_thread(own_store.process.wait, 15)
